package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/snapshot"
	"github.com/sluice-dev/sluice/engine/store"
)

// persistCtx is the context of the executor's writes: a state change that
// happened is recorded even while the run is being cancelled.
var persistCtx = context.Background()

// execute runs one run from start to its final state, then gives its slot
// back. ctx ends with errCancelled on Cancel and with another cause on
// shutdown; on shutdown the run is left for Stop to settle as interrupted.
func (r *Runner) execute(ctx context.Context, ar *activeRun) {
	defer r.execs.Done()
	id := ar.run.ID
	log := r.log.With("run", id, "dag", ar.run.DAG)

	if ar.def == nil {
		r.finish(ar, store.RunFailed, fmt.Sprintf("dag %q is not loaded (unknown, disabled or deleted)", ar.run.DAG), nil)
		return
	}
	now := time.Now()
	if err := r.st.StartRun(persistCtx, id, now); err != nil {
		// The run stays as the store has it; a restart picks it up again.
		log.Error("starting run", "err", err)
		r.release(ar, nil)
		return
	}
	order := ar.def.TopoOrder()
	r.mu.Lock()
	ar.run.State, ar.run.StartedAt, ar.started = store.RunRunning, now, true
	ar.tasks = make([]snapshot.Task, len(order))
	ar.index = make(map[string]int, len(order))
	for i, t := range order {
		ar.tasks[i] = snapshot.Task{ID: t, State: snapshot.TaskPending}
		ar.index[t] = i
	}
	ar.files = &runFiles{dir: r.runDir(id), cfg: ar.run.Config}
	if len(ar.files.cfg) == 0 {
		ar.files.cfg = []byte("{}")
	}
	if ar.run.Batch != "" {
		ar.files.batchFn = r.batchLoader(id)
	}
	r.version++
	r.mu.Unlock()
	r.changed()
	log.Debug("run started")

	failure := r.runTasks(ctx, ar, order)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, errCancelled) {
		log.Debug("run stopped for shutdown; Stop settles it")
		r.release(ar, nil)
		return
	}
	state, msg := store.RunSuccess, ""
	switch {
	case ctx.Err() != nil:
		state, msg = store.RunCancelled, "cancelled"
	case failure != "":
		state, msg = store.RunFailed, failure
	}
	// Tasks the run's end leaves unstarted are skipped.
	var settle []store.Attempt
	r.mu.Lock()
	for _, t := range ar.tasks {
		if t.State == snapshot.TaskPending {
			settle = append(settle, store.Attempt{RunID: id, Task: t.ID, State: snapshot.TaskSkipped, FinishedAt: time.Now()})
		}
	}
	r.mu.Unlock()
	r.finish(ar, state, msg, settle)
	log.Debug("run finished", "state", state)
}

// batchLoader reads a run's batch from the store when a task first asks.
func (r *Runner) batchLoader(id int64) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		run, err := r.st.Run(ctx, id)
		if err != nil {
			return nil, err
		}
		return r.st.BatchMessages(ctx, run.BatchID)
	}
}

// finish commits a run's final state, then shows it.
func (r *Runner) finish(ar *activeRun, state, msg string, settle []store.Attempt) {
	now := time.Now()
	if err := r.st.FinishRun(persistCtx, ar.run.ID, state, msg, now, settle); err != nil {
		r.log.Error("finishing run", "run", ar.run.ID, "err", err)
		r.release(ar, nil)
		return
	}
	r.mu.Lock()
	ar.run.State, ar.run.Error, ar.run.FinishedAt = state, msg, now
	for _, a := range settle {
		if i, ok := ar.index[a.Task]; ok {
			ar.tasks[i] = taskFromAttempt(a)
		}
	}
	r.mu.Unlock()
	r.release(ar, ar)
}

// release gives a run's slot back; a settled run joins the history.
func (r *Runner) release(ar *activeRun, settled *activeRun) {
	r.mu.Lock()
	delete(r.running, ar.run.ID)
	if ar.counted {
		r.act.add(ar.cand, -1)
		ar.counted = false
	}
	if settled != nil {
		s := settled.snapshot()
		if settled.tasks == nil {
			s = r.finishedRun(settled.run, nil, settled.def)
		}
		r.addFinishedLocked(s)
	}
	r.version++
	r.mu.Unlock()
	ar.cancel(nil)
	r.wakeup()
	r.changed()
}

type taskResult struct {
	id    string
	state string
	err   string
}

// runTasks runs a run's tasks in topological order, up to TaskParallelism
// at once, and returns the first failure ("" when none). A failed task's
// descendants become upstream_failed; other branches go on. On ctx's end no
// task starts, running ones are stopped, and runTasks returns once they
// have.
func (r *Runner) runTasks(ctx context.Context, ar *activeRun, order []string) string {
	pos := make(map[string]int, len(order))
	waiting := make(map[string]int, len(order))
	var ready []string
	for i, id := range order {
		pos[id] = i
		waiting[id] = len(ar.def.Parents(id))
		if waiting[id] == 0 {
			ready = append(ready, id)
		}
	}
	results := make(chan taskResult)
	inFlight := 0
	failure := ""
	for {
		for len(ready) > 0 && inFlight < r.cfg.TaskParallelism && ctx.Err() == nil {
			id := ready[0]
			ready = ready[1:]
			inFlight++
			node := nodeByID(ar.def, id)
			go func() { results <- r.runTask(ctx, ar, node) }()
		}
		if inFlight == 0 {
			return failure
		}
		res := <-results
		inFlight--
		switch res.state {
		case snapshot.RunSuccess:
			for _, ch := range ar.def.Children(res.id) {
				waiting[ch]--
				if waiting[ch] == 0 {
					ready = append(ready, ch)
				}
			}
			slices.SortFunc(ready, func(a, b string) int { return pos[a] - pos[b] })
		case snapshot.RunFailed:
			if failure == "" {
				failure = fmt.Sprintf("task %s failed: %s", res.id, res.err)
			}
			r.markUpstreamFailed(ar, res.id)
		}
	}
}

// nodeByID finds a node (TopoOrder only names existing ones).
func nodeByID(d *dag.DAG, id string) *dag.Node {
	for i := range d.Nodes {
		if d.Nodes[i].ID == id {
			return &d.Nodes[i]
		}
	}
	return nil
}

// markUpstreamFailed settles every pending descendant of a failed task.
func (r *Runner) markUpstreamFailed(ar *activeRun, failed string) {
	var rows []store.Attempt
	seen := map[string]bool{}
	stack := ar.def.Children(failed)
	now := time.Now()
	r.mu.Lock()
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		if i, ok := ar.index[id]; ok && ar.tasks[i].State == snapshot.TaskPending {
			rows = append(rows, store.Attempt{RunID: ar.run.ID, Task: id, State: snapshot.TaskUpstreamFailed,
				FinishedAt: now, Error: "upstream task " + failed + " failed"})
		}
		stack = append(stack, ar.def.Children(id)...)
	}
	r.mu.Unlock()
	if len(rows) == 0 {
		return
	}
	if err := r.st.PutAttempts(persistCtx, rows); err != nil {
		r.log.Error("marking upstream_failed tasks", "run", ar.run.ID, "err", err)
		return
	}
	r.mu.Lock()
	for _, a := range rows {
		ar.tasks[ar.index[a.Task]] = taskFromAttempt(a)
	}
	r.mu.Unlock()
	r.changed()
}

// runTask runs a task's attempts: retries with exponential backoff and
// jitter until success, the last allowed attempt, or the run's end.
func (r *Runner) runTask(ctx context.Context, ar *activeRun, node *dag.Node) taskResult {
	res := taskResult{id: node.ID, state: snapshot.RunFailed}
	fn, ok := r.kinds.Lookup(node.Type)
	var common dag.TaskCommon
	if node.Task != nil {
		common = node.Task.Common()
	}
	maxTries := uint(common.Retry + 1)
	first := common.RetryBackoff.D()
	if first <= 0 {
		first = dag.DefaultRetryBackoff
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     first,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         10 * time.Minute,
	}
	attempt := 0
	var last store.Attempt
	shutdown := func() bool {
		cause := context.Cause(ctx)
		return cause != nil && !errors.Is(cause, errCancelled)
	}
	op := func() (struct{}, error) {
		attempt++
		a := store.Attempt{RunID: ar.run.ID, Task: node.ID, Attempt: attempt, State: snapshot.RunRunning, StartedAt: time.Now()}
		if ctx.Err() != nil {
			return struct{}{}, backoff.Permanent(context.Cause(ctx))
		}
		if err := r.putAttempt(ar, a); err != nil {
			return struct{}{}, backoff.Permanent(err)
		}
		last = a
		var err error
		var logFile, tail string
		if !ok {
			err = fmt.Errorf("unknown task kind %q", node.Type)
		} else {
			tr := &TaskRun{
				RunID: ar.run.ID, DAG: ar.run.DAG, Node: node, Attempt: attempt, Config: ar.files.cfg,
				Logger: r.log.With("run", ar.run.ID, "task", node.ID), KillGrace: r.cfg.KillGrace, files: ar.files,
				logPath: filepath.Join(ar.files.dir, fmt.Sprintf("%s.%d.log", node.ID, attempt)),
			}
			err = r.runAttempt(ctx, fn, tr, common.Timeout.D())
			logFile, tail = tr.closeLog()
		}
		a.FinishedAt, a.LogFile, a.LogTail = time.Now(), logFile, tail
		switch {
		case err == nil:
			a.State = snapshot.RunSuccess
		case ctx.Err() != nil:
			if shutdown() {
				// Left running in the store: Stop settles it as interrupted.
				return struct{}{}, backoff.Permanent(err)
			}
			a.State, a.Error = snapshot.RunCancelled, "cancelled"
		case uint(attempt) < maxTries:
			a.State, a.Error = snapshot.TaskRetrying, err.Error()
		default:
			a.State, a.Error = snapshot.RunFailed, err.Error()
		}
		if perr := r.putAttempt(ar, a); perr != nil {
			return struct{}{}, backoff.Permanent(perr)
		}
		last = a
		switch a.State {
		case snapshot.RunSuccess:
			return struct{}{}, nil
		case snapshot.TaskRetrying:
			r.log.Info("task failed, retrying", "run", ar.run.ID, "task", node.ID, "attempt", attempt, "err", err)
			return struct{}{}, err
		}
		return struct{}{}, backoff.Permanent(err)
	}
	_, err := backoff.Retry(ctx, op, backoff.WithBackOff(b), backoff.WithMaxTries(maxTries), backoff.WithMaxElapsedTime(0))
	switch {
	case err == nil:
		res.state = snapshot.RunSuccess
	case ctx.Err() != nil:
		res.state = snapshot.RunCancelled
		// Cancelled while waiting to retry: the last attempt says retrying.
		if last.State == snapshot.TaskRetrying && !shutdown() {
			last.State, last.Error, last.FinishedAt = snapshot.RunCancelled, "cancelled", time.Now()
			if perr := r.putAttempt(ar, last); perr != nil {
				r.log.Error("recording cancelled task", "run", ar.run.ID, "task", node.ID, "err", perr)
			}
		}
	default:
		res.err = err.Error()
		if last.State == snapshot.RunFailed {
			res.err = last.Error
		}
	}
	return res
}

// runAttempt calls a kind under the task's timeout, turning a panic into a
// failure.
func (r *Runner) runAttempt(ctx context.Context, fn KindFunc, tr *TaskRun, timeout time.Duration) (err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %s", timeout))
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("task kind panicked", "run", tr.RunID, "task", tr.Node.ID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in task kind %q: %v", tr.Node.Type, p)
		}
	}()
	err = fn(ctx, tr)
	if err == nil && ctx.Err() != nil {
		// A kind that ignored its deadline still timed out.
		err = context.Cause(ctx)
	}
	return err
}

// putAttempt commits a task's attempt row, then shows it.
func (r *Runner) putAttempt(ar *activeRun, a store.Attempt) error {
	if err := r.st.PutAttempt(persistCtx, a); err != nil {
		r.log.Error("recording task attempt", "run", a.RunID, "task", a.Task, "err", err)
		return err
	}
	r.mu.Lock()
	if i, ok := ar.index[a.Task]; ok {
		ar.tasks[i] = taskFromAttempt(a)
	}
	r.mu.Unlock()
	r.changed()
	return nil
}
