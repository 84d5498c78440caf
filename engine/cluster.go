package engine

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/store"
)

// On a shared store each instance's runner and sensors know only what they
// do themselves. The cluster view reads what the other instances do — the
// runs they run and finished, every replica's sensor ticks — from the store
// every interval, and publishes the topics whose part changed, so a console
// attached to any instance sees the whole platform within one interval
// plus a render (the bound is 1 s). Polling rather than LISTEN/NOTIFY: the
// store is the truth either way, it works for every store implementation,
// and a missed notification can never leave a console stale.

// clusterViewMax is the slowest the view may poll: event → screen ≤ 1 s.
const clusterViewMax = time.Second

// clusterFinished is how many of the latest finished runs it reads.
const clusterFinished = 50

// clusterTicks is how many ticks per sensor it reads.
const clusterTicks = 20

// sensorKey names one sensor of one DAG.
type sensorKey struct {
	dag   string
	index int
}

type clusterView struct {
	st      store.Interface
	self    func() string // this instance's id: its runs are the runner's to show
	lookup  func(string) (*dag.DAG, bool)
	sensors func() []api.Sensor
	every   time.Duration
	publish func(api.Topic)
	log     *slog.Logger

	mu       sync.Mutex
	running  []api.Run // other instances' running runs, by id
	finished []api.Run // the latest finished runs of other instances, newest first
	ticks    map[sensorKey][]api.Tick
	runsKey  string
	ticksKey string

	life lifecycle.Lifecycle
}

func newClusterView(every time.Duration) *clusterView {
	if every <= 0 || every > clusterViewMax {
		every = clusterViewMax
	}
	return &clusterView{every: every, ticks: map[sensorKey][]api.Tick{}}
}

// Start reads once, then keeps reading every interval until Stop.
func (c *clusterView) Start(ctx context.Context) error {
	return c.life.Start(ctx, func(ctx context.Context) error {
		c.refresh(ctx)
		c.life.Every(ctx, c.every, c.refresh)
		return nil
	})
}

// Stop ends the polling and waits for it.
func (c *clusterView) Stop() { c.life.Stop(nil) }

func (c *clusterView) refresh(ctx context.Context) {
	if err := c.refreshRuns(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("reading other instances' runs", "err", err)
	}
	if err := c.refreshTicks(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("reading other instances' sensor ticks", "err", err)
	}
}

func (c *clusterView) refreshRuns(ctx context.Context) error {
	self := c.self()
	running, err := c.st.ListRuns(ctx, store.ListOptions{States: []api.RunState{api.RunRunning}})
	if err != nil {
		return err
	}
	finished, err := c.st.ListRuns(ctx, store.ListOptions{
		States: []api.RunState{api.RunSuccess, api.RunFailed, api.RunCancelled}, Limit: clusterFinished})
	if err != nil {
		return err
	}
	running = slices.DeleteFunc(running, func(r store.Run) bool { return r.Instance == self })
	finished = slices.DeleteFunc(finished, func(r store.Run) bool { return r.Instance == self || r.Instance == "" })
	ids := make([]int64, 0, len(running)+len(finished))
	for _, r := range running {
		ids = append(ids, r.ID)
	}
	for _, r := range finished {
		ids = append(ids, r.ID)
	}
	var tasks map[int64][]store.Attempt
	if len(ids) > 0 {
		if tasks, err = c.st.Tasks(ctx, ids...); err != nil {
			return err
		}
	}
	var key strings.Builder
	view := func(in []store.Run) []api.Run {
		out := make([]api.Run, 0, len(in))
		for _, r := range in {
			def, _ := c.lookup(r.DAG)
			run := runView(r, tasks[r.ID], def)
			fmt.Fprintf(&key, "%d:%s:%d,", run.ID, run.State, run.Done)
			out = append(out, run)
		}
		return out
	}
	runningView, finishedView := view(running), view(finished)
	slices.SortFunc(runningView, func(a, b api.Run) int { return cmp.Compare(a.ID, b.ID) })
	c.mu.Lock()
	changed := key.String() != c.runsKey
	c.running, c.finished, c.runsKey = runningView, finishedView, key.String()
	c.mu.Unlock()
	if changed {
		c.publish(api.TopicRuns)
	}
	return nil
}

// refreshTicks reads every replica's ticks of the sensors this instance
// knows (every instance loads the same DAGs).
func (c *clusterView) refreshTicks(ctx context.Context) error {
	ticks := map[sensorKey][]api.Tick{}
	var key strings.Builder
	for _, s := range c.sensors() {
		rows, err := c.st.RecentTicks(ctx, s.DAG, s.Index, clusterTicks)
		if err != nil {
			return err
		}
		k := sensorKey{s.DAG, s.Index}
		for _, t := range rows {
			ticks[k] = append(ticks[k], api.Tick{ID: t.ID, Start: t.Start, Duration: t.Duration, Batches: t.Batches,
				Messages: t.Messages, Skipped: t.Skipped, Error: t.Error})
		}
		if len(rows) > 0 {
			fmt.Fprintf(&key, "%s/%d:%d,", s.DAG, s.Index, rows[0].ID)
		}
	}
	c.mu.Lock()
	changed := key.String() != c.ticksKey
	c.ticks, c.ticksKey = ticks, key.String()
	c.mu.Unlock()
	if changed {
		c.publish(api.TopicSensors)
	}
	return nil
}

// merge adds the other instances' part to this instance's snapshot.
func (c *clusterView) merge(s *api.Snapshot) {
	c.mu.Lock()
	running, finished, ticks := c.running, c.finished, c.ticks
	c.mu.Unlock()
	seen := map[int64]bool{}
	for _, r := range s.Runs.Running {
		seen[r.ID] = true
	}
	for _, r := range s.Runs.Finished {
		seen[r.ID] = true
	}
	elsewhere := map[int64]bool{}
	for _, r := range running {
		elsewhere[r.ID] = true
		if !seen[r.ID] {
			s.Runs.Running = append(s.Runs.Running, r)
		}
	}
	slices.SortFunc(s.Runs.Running, func(a, b api.Run) int { return cmp.Compare(a.ID, b.ID) })
	if len(finished) > 0 {
		keep := max(len(s.Runs.Finished), clusterFinished)
		for _, r := range finished {
			elsewhere[r.ID] = true
			if !seen[r.ID] {
				s.Runs.Finished = append(s.Runs.Finished, r)
			}
		}
		slices.SortStableFunc(s.Runs.Finished, func(a, b api.Run) int { return b.FinishedAt.Compare(a.FinishedAt) })
		if len(s.Runs.Finished) > keep {
			s.Runs.Finished = s.Runs.Finished[:keep]
		}
	}
	// A run another instance took is no longer queued here, even before
	// this runner's next read of the shared queue.
	s.Runs.Queued = slices.DeleteFunc(s.Runs.Queued, func(r api.Run) bool { return elsewhere[r.ID] })
	for i := range s.Sensors {
		if t, ok := ticks[sensorKey{s.Sensors[i].DAG, s.Sensors[i].Index}]; ok {
			s.Sensors[i].Ticks = mergeTicks(s.Sensors[i].Ticks, t)
		}
	}
}

// mergeTicks joins this instance's ticks (possibly newer than the last
// read) with every replica's from the store, newest first. Tick ids come
// from the one store, so they order ticks across instances.
func mergeTicks(local, stored []api.Tick) []api.Tick {
	keep := max(len(local), len(stored))
	out := slices.Concat(local, stored)
	slices.SortFunc(out, func(a, b api.Tick) int { return cmp.Compare(b.ID, a.ID) })
	out = slices.CompactFunc(out, func(a, b api.Tick) bool { return a.ID == b.ID })
	if len(out) > keep {
		out = out[:keep]
	}
	return out
}

// runView is a stored run as the read model shows it; tasks with no row
// yet are pending (running) or never ran (finished).
func runView(r store.Run, rows []store.Attempt, def *dag.DAG) api.Run {
	out := api.Run{
		ID: r.ID, DAG: r.DAG, State: r.State, Trigger: r.Trigger, Priority: r.Priority, Config: r.Config,
		QueuedAt: r.QueuedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Error: r.Error, Batch: r.Batch,
		RerunOf: r.RerunOf,
	}
	byTask := map[string]store.Attempt{}
	var order []string
	for _, a := range rows {
		if _, ok := byTask[a.Task]; !ok && def == nil {
			order = append(order, a.Task)
		}
		byTask[a.Task] = a
	}
	if def != nil {
		order = def.TopoOrder()
	}
	missing := api.TaskPending
	if r.State.Finished() {
		missing = api.TaskSkipped
	}
	for _, id := range order {
		t := api.Task{ID: id, State: missing}
		if a, ok := byTask[id]; ok {
			t = api.Task{ID: a.Task, State: a.State, Attempt: a.Attempt, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
				Error: a.Error, LogTail: a.LogTail, LogFile: a.LogFile}
		}
		out.Tasks = append(out.Tasks, t)
		switch t.State {
		case api.TaskSuccess, api.TaskFailed, api.TaskCancelled, api.TaskUpstreamFailed, api.TaskSkipped:
			out.Done++
		}
	}
	out.Total = len(out.Tasks)
	return out
}
