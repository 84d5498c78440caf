package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

// gate is a file tasks wait for, so a test decides when they finish.
type gate string

func newGate(t *testing.T) gate { return gate(filepath.Join(t.TempDir(), "open")) }

func (g gate) cmd() string {
	return fmt.Sprintf(`while [ ! -e %s ]; do sleep 0.02; done`, string(g))
}

func (g gate) open(t *testing.T) {
	if err := os.WriteFile(string(g), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func gatedDAG(g gate, extra string) string {
	return shellDAG(map[string]string{"wait": g.cmd()}, nil, extra)
}

func (h *harness) reasons() map[int64]string {
	out := map[int64]string{}
	for _, run := range h.r.Runs().Queued {
		out[run.ID] = run.WaitReason
	}
	return out
}

func (h *harness) runningIDs() []int64 {
	var ids []int64
	for _, run := range h.r.Runs().Running {
		ids = append(ids, run.ID)
	}
	return ids
}

func TestQueueRespectsLimitsLive(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	h := setup(t, func(c *Config) {
		c.Limits = Limits{MaxConcurrentRuns: 3, TagLimits: []TagLimit{{Key: "team", Value: "data", Limit: 1}}}
	})
	h.dags.add(t, "daily_etl", gatedDAG(g, `"max_active_runs": 1`))
	h.dags.add(t, "report", gatedDAG(g, `"tags": {"team": "data"}`))
	h.dags.add(t, "free", gatedDAG(g, ""))
	h.start()
	etl1, etl2 := h.enqueue("daily_etl", ""), h.enqueue("daily_etl", "")
	rep1, rep2 := h.enqueue("report", ""), h.enqueue("report", "")
	free1, free2 := h.enqueue("free", ""), h.enqueue("free", "")

	// etl1, rep1 and free1 hold the three slots; each blocked run says why,
	// and the blocked ones did not hold up free1 behind them.
	h.waitFor("three runs running", func() bool { return len(h.runningIDs()) == 3 })
	want := map[int64]string{
		etl2:  "1/1 runs of daily_etl active",
		rep2:  "tag team=data at limit 1",
		free2: "3/3 runs active (max_concurrent_runs)",
	}
	got := h.reasons()
	for id, reason := range want {
		if got[id] != reason {
			t.Errorf("run %d waits for %q, want %q", id, got[id], reason)
		}
	}
	if fmt.Sprint(h.runningIDs()) != fmt.Sprint([]int64{etl1, rep1, free1}) {
		t.Fatalf("running %v, want %v", h.runningIDs(), []int64{etl1, rep1, free1})
	}
	if n := h.r.QueuedCount("daily_etl"); n != 1 {
		t.Fatalf("QueuedCount(daily_etl) = %d", n)
	}
	if n := h.r.QueuedCount(""); n != 3 {
		t.Fatalf("QueuedCount() = %d", n)
	}
	g.open(t)
	for _, id := range []int64{etl1, etl2, rep1, rep2, free1, free2} {
		if run, _ := h.waitRun(id); run.State != api.RunSuccess {
			t.Fatalf("run %d %s %q", id, run.State, run.Error)
		}
	}
}

func TestPriorityGoesFirst(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	h := setup(t, func(c *Config) { c.Limits.MaxConcurrentRuns = 1 })
	h.dags.add(t, "d", gatedDAG(g, ""))
	h.dags.add(t, "urgent", gatedDAG(g, `"priority": 10`))
	h.start()
	first := h.enqueue("d", "")
	h.waitFor("first run to start", func() bool { return len(h.runningIDs()) == 1 })
	low := h.enqueue("d", "")
	high := h.enqueue("urgent", "")
	queued := h.r.Runs().Queued
	if len(queued) != 2 || queued[0].ID != high || queued[1].ID != low || queued[0].Priority != 10 {
		t.Fatalf("queue order %+v", queued)
	}
	g.open(t)
	h.waitRun(first)
	_, highTasks := h.waitRun(high)
	_, lowTasks := h.waitRun(low)
	if !highTasks["wait"].StartedAt.Before(lowTasks["wait"].StartedAt) {
		t.Fatal("low priority run started first")
	}
}

func TestCancelQueuedRun(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	h := setup(t, func(c *Config) { c.Limits.MaxConcurrentRuns = 1 })
	h.dags.add(t, "d", gatedDAG(g, ""))
	h.start()
	first := h.enqueue("d", "")
	second := h.enqueue("d", "")
	h.waitFor("first to run", func() bool { return len(h.runningIDs()) == 1 })
	if err := h.r.Cancel(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	run, _ := h.st.Run(context.Background(), second)
	if run.State != api.RunCancelled {
		t.Fatalf("cancelled queued run is %s", run.State)
	}
	if len(h.r.Runs().Queued) != 0 {
		t.Fatal("cancelled run still queued")
	}
	snap, _ := h.snapshotRun(second)
	if snap.State != api.RunCancelled || snap.Total != 1 {
		t.Fatalf("snapshot %+v", snap)
	}
	g.open(t)
	h.waitRun(first)
}

func TestRunQueuedByAnotherProcessIsPickedUp(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.dags.add(t, "d", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	h.start()
	// What `sluice trigger` does: insert into the store, nothing else.
	id, err := h.st.CreateRun(context.Background(), store.NewRun{DAG: "d", External: true, Config: []byte(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run, tasks := h.waitRun(id)
	if run.State != api.RunSuccess || tasks["n"].State != "success" {
		t.Fatalf("run %+v", run)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("picked up after %s", d)
	}
}

func TestRunOfUnknownDAGFails(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.start()
	if _, err := h.r.Enqueue(context.Background(), store.NewRun{DAG: "nope"}); err == nil {
		t.Fatal("Enqueue accepted an unknown dag")
	}
	id, _ := h.st.CreateRun(context.Background(), store.NewRun{DAG: "nope", External: true})
	run, _ := h.waitRun(id)
	if run.State != api.RunFailed || !strings.Contains(run.Error, "not loaded") {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
}

func TestStopInterruptsRunsAndRequeuesRetryOnCrash(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	h := setup(t, nil)
	h.dags.add(t, "keep", gatedDAG(g, `"retry_on_crash": true`))
	h.dags.add(t, "drop", gatedDAG(g, ""))
	h.start()
	keep, drop := h.enqueue("keep", `{"x":1}`), h.enqueue("drop", "")
	h.waitFor("both running", func() bool {
		return h.taskState(keep, "wait") == api.TaskRunning && h.taskState(drop, "wait") == api.TaskRunning
	})
	h.r.Stop()
	ctx := context.Background()
	for _, id := range []int64{keep, drop} {
		run, _ := h.st.Run(ctx, id)
		if run.State != api.RunFailed || run.Error != store.InterruptedError {
			t.Fatalf("run %d after stop: %s %q", id, run.State, run.Error)
		}
	}
	queued, _ := h.st.ListRuns(ctx, store.ListOptions{States: []api.RunState{api.RunQueued}})
	if len(queued) != 1 || queued[0].DAG != "keep" || queued[0].RetryOf != keep || queued[0].Trigger != store.TriggerRecovery ||
		string(queued[0].Config) != `{"x":1}` {
		t.Fatalf("queued after stop: %+v", queued)
	}

	// A new runner on the same store runs the re-queued run.
	r2, err := New(Config{Store: h.st, DAGs: h.dags, StateDir: h.dir, KillGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r2.Stop()
	g.open(t)
	h.r = r2
	run, _ := h.waitRun(queued[0].ID)
	if run.State != api.RunSuccess {
		t.Fatalf("re-queued run %s %q", run.State, run.Error)
	}
	// The history the new runner starts with holds the interrupted runs.
	var found int
	for _, f := range r2.Runs().Finished {
		if f.ID == keep || f.ID == drop {
			found++
			if f.Tasks[0].State != api.TaskFailed {
				t.Errorf("history task %+v", f.Tasks[0])
			}
		}
	}
	if found != 2 {
		t.Fatalf("history has %d of the interrupted runs", found)
	}
}

func TestSnapshotRunningProgress(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	h := setup(t, nil)
	h.dags.add(t, "two", shellDAG(map[string]string{"a": "true", "b": g.cmd()}, map[string][]string{"b": {"a"}}, ""))
	h.start()
	id := h.enqueue("two", "")
	h.waitFor("b to run", func() bool { return h.taskState(id, "b") == api.TaskRunning })
	run, _ := h.snapshotRun(id)
	if run.State != api.RunRunning || run.Done != 1 || run.Total != 2 || run.StartedAt.IsZero() ||
		run.Tasks[0].State != api.TaskSuccess || run.Tasks[1].Attempt != 1 {
		t.Fatalf("snapshot %+v", run)
	}
	g.open(t)
	h.waitRun(id)
}

// TestCancelBetweenClaimAndStart: a cancel that lands after this instance
// claimed a queued run in the store but before it started it is not
// refused as "not queued": the run starts cancelled and runs no task.
func TestCancelBetweenClaimAndStart(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	out := t.TempDir() + "/ran"
	h.dags.add(t, "etl", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "touch `+out+`"}}]}`)
	h.start()
	h.r.mu.Lock()
	h.r.started = false // dispatch waits: the test plays its part
	h.r.mu.Unlock()
	id := h.enqueue("etl", "")
	ctx := t.Context()
	claims, _, err := h.st.ClaimRuns(ctx, h.r.id, time.Now(), store.ClaimLimits{}, 1)
	if err != nil || len(claims) != 1 || claims[0].Run.ID != id {
		t.Fatalf("claimed %+v: %v", claims, err)
	}
	if err := h.r.Cancel(ctx, id); err != nil {
		t.Fatalf("cancel between claim and start: %v", err)
	}
	h.r.mu.Lock()
	memo := map[string]*dag.DAG{}
	info := h.r.info(memo)
	info("etl") // as the claim's limits asked
	h.r.startClaimedLocked(ctx, claims[0], memo, info)
	h.r.mu.Unlock()
	if run, _ := h.waitRun(id); run.State != api.RunCancelled {
		t.Fatalf("run ended %q (%s), want cancelled", run.State, run.Error)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("the task ran (%v)", err)
	}
}
