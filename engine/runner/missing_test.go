package runner

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

func (d *dagMap) remove(name string) {
	d.mu.Lock()
	delete(d.m, name)
	d.mu.Unlock()
}

// switchable is a DAG registry that also tells switched-off DAGs apart.
type switchable struct {
	*dagMap
	mu  sync.Mutex
	off map[string]bool
}

func (s *switchable) Disabled(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.off[name]
}

func (h *harness) waitReason(id int64) string {
	run, _ := h.snapshotRun(id)
	return run.WaitReason
}

// TestQueuedRunWaitsForItsMissingDAG: the file of a DAG with a queued run
// goes missing for a moment; the run waits, saying why, and runs once the
// file is back.
func TestQueuedRunWaitsForItsMissingDAG(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.MissingGrace = time.Hour })
	h.dags.add(t, "etl", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	id := h.enqueue("etl", "")
	def, _ := h.dags.Lookup("etl")
	h.dags.remove("etl")
	h.start()

	h.waitFor("the run to say it waits for its DAG", func() bool {
		return strings.Contains(h.waitReason(id), "dag file missing since")
	})
	if run, _ := h.st.Run(t.Context(), id); run.State != api.RunQueued {
		t.Fatalf("run is %q (%s) while its DAG is missing, want queued", run.State, run.Error)
	}
	h.dags.mu.Lock()
	h.dags.m["etl"] = def
	h.dags.mu.Unlock()
	if run, _ := h.waitRun(id); run.State != api.RunSuccess {
		t.Fatalf("run ended %q (%s) after its DAG came back", run.State, run.Error)
	}
}

// TestMissingDAGRunsWithLastVersionAfterGrace: a DAG that stays missing
// past the grace period, with no stored versions: its queued run waits the
// grace, then runs with the version it was queued with.
func TestMissingDAGRunsWithLastVersionAfterGrace(t *testing.T) {
	t.Parallel()
	clk := enginetest.NewClock(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	h := setup(t, func(c *Config) { c.MissingGrace = 5 * time.Minute; c.Clock = clk })
	out := t.TempDir() + "/ran"
	h.dags.add(t, "etl", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "echo v1 > `+out+`"}}]}`)
	id := h.enqueue("etl", "")
	h.dags.remove("etl")
	h.start()
	h.waitFor("the run to wait out the grace", func() bool {
		return strings.Contains(h.waitReason(id), "waits for it until 09:05:00, then runs with the last version known")
	})
	clk.Advance(5*time.Minute + time.Second)
	if run, _ := h.waitRun(id); run.State != api.RunSuccess {
		t.Fatalf("run ended %q (%s), want success with the last version", run.State, run.Error)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "v1\n" {
		t.Fatalf("the task wrote %q (%v), want v1", b, err)
	}
}

// storedDAGs is a registry that also keeps parsed versions, as the
// engine's versioned source keeps them in the store.
type storedDAGs struct {
	*dagMap
	mu       sync.Mutex
	versions map[int]*dag.DAG
	asked    int
}

func (s *storedDAGs) StoredVersion(_ context.Context, name string, version int) (*dag.DAG, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if d, ok := s.versions[version]; ok && name == "etl" {
		return d, nil
	}
	return nil, fmt.Errorf("version %d of %q: %w", version, name, store.ErrNotFound)
}

// TestMissingDAGRunsItsStoredVersionAtOnce: a DAG file that goes missing
// while the runner runs: its queued runs do not wait for the grace — each
// runs, at once, the stored version it was queued with — and one whose
// version is not stored waits.
func TestMissingDAGRunsItsStoredVersionAtOnce(t *testing.T) {
	t.Parallel()
	reg := &storedDAGs{dagMap: &dagMap{}, versions: map[int]*dag.DAG{}}
	h := setup(t, func(c *Config) { c.MissingGrace = time.Hour; c.DAGs = reg })
	dir := t.TempDir()
	for v := 1; v <= 2; v++ {
		def := reg.add(t, "etl", fmt.Sprintf(`{"nodes": [{"id": "a", "type": "local", "config": {"command": "echo v%d >> %s/ran"}}]}`, v, dir))
		def.Version = v
		reg.versions[v] = def
	}
	h.start()
	h.r.mu.Lock()
	h.r.started = false // hold dispatch while the runs are queued and the file goes
	h.r.mu.Unlock()
	var ids []int64
	for _, v := range []int{1, 2} {
		id, err := h.r.Enqueue(t.Context(), store.NewRun{DAG: "etl", DAGVersion: v})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	reg.remove("etl")
	h.r.mu.Lock()
	h.r.started = true
	h.r.mu.Unlock()
	h.r.wakeup()
	for _, id := range ids {
		if run, _ := h.waitRun(id); run.State != api.RunSuccess {
			t.Fatalf("run %d ended %q (%s), want success with its stored version", id, run.State, run.Error)
		}
	}
	b, err := os.ReadFile(dir + "/ran")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Fields(string(b)); !slices.Equal(slices.Sorted(slices.Values(lines)), []string{"v1", "v2"}) {
		t.Fatalf("versions run = %v, want v1 and v2", lines)
	}

	// A version the store lacks waits (the hour's grace), saying so.
	h.st.CreateRun(t.Context(), store.NewRun{DAG: "etl", DAGVersion: 3, External: true})
	h.waitFor("the unstored version to wait", func() bool {
		for _, run := range h.r.Runs().Queued {
			if run.DAGVersion == 3 && strings.Contains(run.WaitReason, "then fails: the version it was queued with is not stored") {
				return true
			}
		}
		return false
	})
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.asked != 3 {
		t.Errorf("the store was asked for versions %d times, want once each of 1, 2, 3", reg.asked)
	}
}

// TestSwitchedOffAndUnknownDAGsFailAtOnce: enabled: false is not a missing
// file, and a DAG never seen has no version to wait for.
func TestSwitchedOffAndUnknownDAGsFailAtOnce(t *testing.T) {
	t.Parallel()
	reg := &switchable{dagMap: &dagMap{}, off: map[string]bool{}}
	h := setup(t, func(c *Config) { c.MissingGrace = time.Hour; c.DAGs = reg })
	reg.add(t, "etl", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	id := h.enqueue("etl", "")
	reg.remove("etl")
	reg.mu.Lock()
	reg.off["etl"] = true
	reg.mu.Unlock()
	h.start()
	if run, _ := h.waitRun(id); run.State != api.RunFailed || !strings.Contains(run.Error, "not loaded") {
		t.Fatalf("run of a switched-off DAG ended %q (%s), want failed at once", run.State, run.Error)
	}
}

// TestUnknownDAGFailsAtOnce: a run of a DAG nobody loaded and the store
// never recorded (`sluice trigger ghost`) has nothing to wait for.
func TestUnknownDAGFailsAtOnce(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.MissingGrace = time.Hour })
	id, err := h.st.CreateRun(t.Context(), store.NewRun{DAG: "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	if run, _ := h.waitRun(id); run.State != api.RunFailed || !strings.Contains(run.Error, `dag "ghost" is not loaded`) {
		t.Fatalf("run of an unknown DAG ended %q (%s), want failed at once", run.State, run.Error)
	}
}

// TestCrashedRunOfMissingDAGRequeuedFromItsVersion: a run a crash left
// running, whose DAG's file is missing at the restart, is decided by the
// stored version it ran — that version says retry_on_crash, so it is
// re-queued and runs that version — and one whose version says nothing is
// marked failed.
func TestCrashedRunOfMissingDAGRequeuedFromItsVersion(t *testing.T) {
	t.Parallel()
	reg := &storedDAGs{dagMap: &dagMap{}, versions: map[int]*dag.DAG{}}
	h := setup(t, func(c *Config) { c.MissingGrace = time.Hour; c.DAGs = reg })
	dir := t.TempDir()
	for v, retry := range map[int]string{1: "", 2: `"retry_on_crash": true, `} {
		def := reg.add(t, "etl", fmt.Sprintf(`{%s"nodes": [{"id": "a", "type": "local", "config": {"command": "echo v%d >> %s/ran"}}]}`, retry, v, dir))
		def.Version = v
		reg.versions[v] = def
	}
	reg.remove("etl")
	ctx := t.Context()
	at := time.Now()
	// The engine records each version that loaded; the store knows etl.
	for _, v := range []string{"v1", "v2"} {
		if _, err := h.st.RecordDAGVersions(ctx, []api.DAGVersion{{DAG: "etl", SHA256: v, Source: "etl.json", Content: []byte(v), LastSeen: at}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.st.Register(ctx, store.Instance{ID: "crashed", Host: "old", PID: 1, StartedAt: at, LastHeartbeat: at}); err != nil {
		t.Fatal(err)
	}
	var crashed []int64
	for _, v := range []int{1, 2} {
		id, err := h.st.CreateRun(ctx, store.NewRun{DAG: "etl", DAGVersion: v, QueuedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		crashed = append(crashed, id)
	}
	if claims, _, err := h.st.ClaimRuns(ctx, "crashed", at, store.ClaimLimits{}, 2); err != nil || len(claims) != 2 {
		t.Fatalf("claimed %d runs for the crashed instance: %v", len(claims), err)
	}

	h.start()
	queued, err := h.st.ListRuns(ctx, store.ListOptions{DAG: "etl"})
	if err != nil {
		t.Fatal(err)
	}
	var again store.Run
	for _, run := range queued {
		if run.RetryOf != 0 {
			if again.ID != 0 {
				t.Fatalf("two runs re-queued: %+v", queued)
			}
			again = run
		}
	}
	if again.RetryOf != crashed[1] || again.DAGVersion != 2 {
		t.Fatalf("re-queued %+v, want a retry of run %d (version 2, retry_on_crash)", again, crashed[1])
	}
	if run, _ := h.waitRun(again.ID); run.State != api.RunSuccess {
		t.Fatalf("re-queued run ended %q (%s), want success with its stored version", run.State, run.Error)
	}
	if b, err := os.ReadFile(dir + "/ran"); err != nil || string(b) != "v2\n" {
		t.Fatalf("tasks wrote %q (%v), want only v2", b, err)
	}
	for _, id := range crashed {
		if run, _ := h.st.Run(ctx, id); run.State != api.RunFailed || run.Error != store.InterruptedError {
			t.Errorf("crashed run %d is %q (%s), want failed as interrupted", id, run.State, run.Error)
		}
	}
}

// TestRunQueuedWithoutVersionRecordsTheOneItRuns: a run queued before its
// DAG had a stored version (sluice trigger on a fresh state dir) records
// the version it ran, so a re-run runs that one again.
func TestRunQueuedWithoutVersionRecordsTheOneItRuns(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	def := h.dags.add(t, "etl", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	def.Version = 3
	h.start()
	id, err := h.st.CreateRun(t.Context(), store.NewRun{DAG: "etl", External: true})
	if err != nil {
		t.Fatal(err)
	}
	if run, _ := h.waitRun(id); run.State != api.RunSuccess || run.DAGVersion != 3 {
		t.Fatalf("run ended %q with version %d, want success with version 3", run.State, run.DAGVersion)
	}
}
