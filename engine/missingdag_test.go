package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/store"
)

// missingSetup is a state dir whose store knows etl (v1, then v2),
// events (v1) and ok, and whose DAG files are then removed while no engine runs.
type missingSetup struct {
	state, dags string
	side        string // etl's tasks append their names here
	batchOut    string // events' task copies its batch here
	clock       *enginetest.Clock
}

func newMissingSetup(t *testing.T) *missingSetup {
	t.Helper()
	m := &missingSetup{state: t.TempDir(), dags: t.TempDir(), clock: enginetest.NewClock(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))}
	out := t.TempDir()
	m.side, m.batchOut = filepath.Join(out, "side"), filepath.Join(out, "batch")
	enginetest.WriteDAG(t, m.dags, "etl", oneTaskDAG("v1", m.side))
	enginetest.WriteDAG(t, m.dags, "ok", noopDAG)
	enginetest.WriteDAG(t, m.dags, "events", `{"nodes": [{"id": "sink", "type": "local", "config": {"command": "cat \"$SLUICE_BATCH_FILE\" >> `+m.batchOut+`"}}]}`)
	e := m.open(t)
	writeDAG(t, e, filepath.Join(m.dags, "etl.json"), oneTaskDAG("v2", m.side))
	if d := dagRow(t, e, "etl"); d.Version != 2 {
		t.Fatalf("etl at v%d after an edit, want v2", d.Version)
	}
	e.Stop()
	return m
}

func (m *missingSetup) open(t *testing.T) *Engine {
	t.Helper()
	e, err := New(Config{StateDir: m.state, Clock: m.clock, PollInterval: 20 * time.Millisecond,
		Loader: loader.Config{Dir: m.dags, Enabled: true, ScanInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

// queue stores queued runs as an engine stopped before starting them
// left them.
func (m *missingSetup) queue(t *testing.T, runs ...store.NewRun) []int64 {
	t.Helper()
	st, err := store.OpenDir(context.Background(), m.state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []int64
	for _, nr := range runs {
		id, err := st.CreateRun(context.Background(), nr)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func (m *missingSetup) remove(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Remove(filepath.Join(m.dags, n+".json")); err != nil {
			t.Fatal(err)
		}
	}
}

// batchOf is a Kafka batch of n messages, as a sensor stores it.
func batchOf(n int) *store.Batch {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"offset": %d}`+"\n", i)
	}
	return &store.Batch{Topic: "events", Partition: 0, FirstOffset: 0, LastOffset: int64(n - 1), Messages: []byte(b.String())}
}

func queuedRun(s *api.Snapshot, id int64) (api.Run, bool) {
	for _, r := range s.Runs.Queued {
		if r.ID == id {
			return r, true
		}
	}
	return api.Run{}, false
}

// TestRestartRunsQueuedRunsOfMissingDAGsWithTheirStoredVersions: runs
// queued before a restart — one of them a Kafka batch whose offsets are
// committed — whose DAG files were removed while the engine was stopped
// run, at once, the versions they were queued with, from the store.
func TestRestartRunsQueuedRunsOfMissingDAGsWithTheirStoredVersions(t *testing.T) {
	t.Parallel()
	m := newMissingSetup(t)
	ids := m.queue(t,
		store.NewRun{DAG: "etl", DAGVersion: 1},
		store.NewRun{DAG: "events", Trigger: store.TriggerSensor, DAGVersion: 1, Batch: batchOf(900)})
	m.remove(t, "etl", "events")

	e := m.open(t) // the clock never moves: nothing waits out a grace
	for _, id := range ids {
		if r := waitRun(t, e, id); r.State != api.RunSuccess {
			t.Fatalf("run %d of %s = %s (%s), want success with its stored version", id, r.DAG, r.State, r.Error)
		}
	}
	var seen int
	if got := strings.Join(sideEffects(t, m.side, &seen), ","); got != "v1" {
		t.Errorf("etl's tasks that ran = %q, want v1 (the version the run was queued with, not v2)", got)
	}
	got, err := os.ReadFile(m.batchOut)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "\n"); n != 900 {
		t.Errorf("the batch run's task read %d messages, want 900", n)
	}
}

// TestMissingDAGWaitsAndRunsWhenItsFileIsBack: a run whose version the
// store lacks waits, saying why, and runs normally when the file is back
// (here after a restart: the file was missing while the volume was not
// mounted yet).
func TestMissingDAGWaitsAndRunsWhenItsFileIsBack(t *testing.T) {
	t.Parallel()
	m := newMissingSetup(t)
	ids := m.queue(t, store.NewRun{DAG: "etl"}) // queued before etl was ever recorded: no version
	m.remove(t, "etl")

	e := m.open(t)
	s := waitSnapshot(t, e, func(s *api.Snapshot) bool {
		r, ok := queuedRun(s, ids[0])
		return ok && strings.Contains(r.WaitReason, "dag file missing since 09:00:00; waits for it until 09:05:00")
	})
	r, _ := queuedRun(s, ids[0])
	t.Logf("wait reason: %s", r.WaitReason)
	m.clock.Advance(time.Minute) // within the grace
	writeDAG(t, e, filepath.Join(m.dags, "etl.json"), oneTaskDAG("back", m.side))
	if r := waitRun(t, e, ids[0]); r.State != api.RunSuccess {
		t.Fatalf("run = %s (%s) once its file is back, want success", r.State, r.Error)
	}
	var seen int
	if got := strings.Join(sideEffects(t, m.side, &seen), ","); got != "back" {
		t.Errorf("tasks that ran = %q, want back", got)
	}
}

// TestMissingDAGWithoutStoredVersionFailsAfterGrace: runs whose versions
// the store lacks wait the whole grace, then fail naming the DAG and the
// version; the batch run keeps its batch (it can be replayed).
func TestMissingDAGWithoutStoredVersionFailsAfterGrace(t *testing.T) {
	t.Parallel()
	m := newMissingSetup(t)
	ids := m.queue(t,
		store.NewRun{DAG: "etl", DAGVersion: 7},
		store.NewRun{DAG: "events", Trigger: store.TriggerSensor, DAGVersion: 9, Batch: batchOf(3)})
	m.remove(t, "etl", "events")

	e := m.open(t)
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		for _, id := range ids {
			r, ok := queuedRun(s, id)
			if !ok || !strings.Contains(r.WaitReason, "until 09:05:00, then fails: the version it was queued with is not stored") {
				return false
			}
		}
		return true
	})
	m.clock.Advance(4 * time.Minute)
	// A run of another DAG going through the queue at 09:04: a pass that
	// considered the waiting runs too.
	pass, err := e.Trigger(context.Background(), "ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, pass)
	for _, id := range ids {
		if run := storedRun(t, e, id); run.State != api.RunQueued {
			t.Fatalf("run %d = %s (%s) within the grace, want queued", id, run.State, run.Error)
		}
	}
	m.clock.Advance(time.Minute + time.Second)
	want := map[int64]string{
		ids[0]: `dag "etl": its file is missing and version 7, the one the run was queued with, is not stored`,
		ids[1]: `dag "events": its file is missing and version 9, the one the run was queued with, is not stored`,
	}
	for id, msg := range want {
		if r := waitRun(t, e, id); r.State != api.RunFailed || r.Error != msg {
			t.Errorf("run %d = %s (%s), want failed: %s", id, r.State, r.Error, msg)
		}
	}
	if run := storedRun(t, e, ids[1]); run.Batch != "events/0/0-2" {
		t.Errorf("failed batch run carries batch %q, want events/0/0-2 kept", run.Batch)
	}
}

func storedRun(t *testing.T, e *Engine, id int64) store.Run {
	t.Helper()
	run, err := e.st.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// TestSwitchedOffDAGIsNotMissing: a file that now says enabled: false is
// not a missing file: its queued run fails at once instead of running its
// stored version.
func TestSwitchedOffDAGIsNotMissing(t *testing.T) {
	t.Parallel()
	m := newMissingSetup(t)
	ids := m.queue(t, store.NewRun{DAG: "etl", DAGVersion: 2})
	enginetest.WriteDAG(t, m.dags, "etl", `{"enabled": false, "nodes": [{"id": "off", "type": "local", "config": {"command": "true"}}]}`)

	e := m.open(t)
	if r := waitRun(t, e, ids[0]); r.State != api.RunFailed || !strings.Contains(r.Error, `dag "etl" is not loaded`) {
		t.Fatalf("run of a switched-off DAG = %s (%s), want failed at once", r.State, r.Error)
	}
	var seen int
	if got := sideEffects(t, m.side, &seen); len(got) != 0 {
		t.Errorf("tasks ran: %v", got)
	}
}
