package runner

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// dagMap is an in-memory DAG registry standing in for the loader.
type dagMap struct {
	mu sync.Mutex
	m  map[string]*dag.DAG
}

func (d *dagMap) Lookup(name string) (*dag.DAG, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	def, ok := d.m[name]
	return def, ok
}

func (d *dagMap) all() []*dag.DAG {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*dag.DAG
	for _, def := range d.m {
		out = append(out, def)
	}
	return out
}

func (d *dagMap) add(t testing.TB, name, js string) *dag.DAG {
	t.Helper()
	def, err := dag.Parse(name+".json", []byte(js), dag.Options{})
	if err != nil {
		t.Fatalf("dag %s: %v", name, err)
	}
	d.mu.Lock()
	if d.m == nil {
		d.m = map[string]*dag.DAG{}
	}
	d.m[name] = def
	d.mu.Unlock()
	return def
}

type harness struct {
	t       testing.TB
	dir     string
	st      *store.Store
	dags    *dagMap
	r       *Runner
	changes chan struct{}
}

// setup opens a store in a temp dir and builds (not starts) a runner;
// tweak edits its config first.
func setup(t testing.TB, tweak func(*Config)) *harness {
	t.Helper()
	st, dir := enginetest.Store(t)
	h := &harness{t: t, dir: dir, st: st, dags: &dagMap{}, changes: make(chan struct{}, 1)}
	cfg := Config{
		Store: st, DAGs: h.dags, StateDir: dir, KillGrace: 200 * time.Millisecond, PollInterval: 50 * time.Millisecond,
		OnChange: func() {
			select {
			case h.changes <- struct{}{}:
			default:
			}
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	var err error
	h.r, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.r.Stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.r.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) enqueue(name string, cfg string) int64 {
	h.t.Helper()
	nr := store.NewRun{DAG: name}
	if cfg != "" {
		nr.Config = []byte(cfg)
	}
	id, err := h.r.Enqueue(context.Background(), nr)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// waitFor polls cond, woken by the runner's change callback, until it holds
// or the deadline passes.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	enginetest.EventuallyOn(h.t, h.changes, 20*time.Second, cond, what)
}

// waitRun waits until a run reaches a final state in the store and returns
// it with its tasks.
func (h *harness) waitRun(id int64) (store.Run, map[string]store.Attempt) {
	h.t.Helper()
	var run store.Run
	h.waitFor("run to finish", func() bool {
		var err error
		run, err = h.st.Run(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if !run.Finished() {
			return false
		}
		// The snapshot shows it once the runner has released it.
		for _, f := range h.r.Runs().Finished {
			if f.ID == id {
				return true
			}
		}
		return false
	})
	tasks, err := h.st.Tasks(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]store.Attempt{}
	for _, a := range tasks[id] {
		out[a.Task] = a
	}
	return run, out
}

func (h *harness) snapshotRun(id int64) (api.Run, bool) {
	runs := h.r.Runs()
	for _, list := range [][]api.Run{runs.Queued, runs.Running, runs.Finished} {
		for _, run := range list {
			if run.ID == id {
				return run, true
			}
		}
	}
	return api.Run{}, false
}

func (h *harness) taskState(id int64, task string) api.TaskState {
	run, ok := h.snapshotRun(id)
	if !ok {
		return ""
	}
	for _, t := range run.Tasks {
		if t.ID == task {
			return t.State
		}
	}
	return ""
}
