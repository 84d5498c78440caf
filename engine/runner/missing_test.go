package runner

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
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
// past the grace period: its queued run runs with the version it was
// queued with.
func TestMissingDAGRunsWithLastVersionAfterGrace(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.MissingGrace = 300 * time.Millisecond })
	out := t.TempDir() + "/ran"
	h.dags.add(t, "etl", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "echo v1 > `+out+`"}}]}`)
	id := h.enqueue("etl", "")
	h.dags.remove("etl")
	h.start()
	if run, _ := h.waitRun(id); run.State != api.RunSuccess {
		t.Fatalf("run ended %q (%s), want success with the last version", run.State, run.Error)
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
