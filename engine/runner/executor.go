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

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

// persistCtx is the context of the executor's writes: a state change that
// happened is recorded even while the run is being cancelled.
var persistCtx = context.Background()

// execute runs one run from start to its final state, then gives its slot
// back. ctx ends with errCancelled on Cancel and with another cause on
// shutdown; on shutdown the run is left for Stop to settle as interrupted.
//
// Writes ride together: the run's start is committed with its first tasks'
// starts, a task's end with the starts it unblocks, the last task's end with
// the run's end. A one-task run thus waits for two commits, not four.
func (r *Runner) execute(ctx context.Context, ar *activeRun) {
	defer r.execs.Done()
	id := ar.run.ID
	log := r.log.With("run", id, "dag", ar.run.DAG)

	if ar.def == nil {
		why := ar.why
		if why == "" {
			why = fmt.Sprintf("dag %q is not loaded (unknown, disabled or deleted)", ar.run.DAG)
		}
		r.finish(ar, api.RunFailed, why, nil)
		return
	}
	order := ar.def.TopoOrder()
	r.mu.Lock()
	ar.tasks = make([]api.Task, len(order))
	ar.index = make(map[string]int, len(order))
	for i, t := range order {
		ar.tasks[i] = api.Task{ID: t, State: api.TaskPending}
		ar.index[t] = i
	}
	ar.files = &runFiles{dir: r.runDir(id), cfg: ar.run.Config}
	if len(ar.files.cfg) == 0 {
		ar.files.cfg = []byte("{}")
	}
	if ar.run.Batch != "" {
		ar.files.batchFn = r.batchLoader(id)
	}
	r.mu.Unlock()

	if ar.run.DAGVersion == 0 && ar.def.Version != 0 {
		// Queued before its DAG had a stored version (a trigger on a fresh
		// state dir): it records the one it runs, which a re-run runs again.
		if err := r.st.SetClaimedVersion(persistCtx, ar.claim, ar.def.Version); err != nil {
			log.Warn("recording the run's dag version", "err", err)
		} else {
			r.mu.Lock()
			ar.run.DAGVersion = ar.def.Version
			r.mu.Unlock()
		}
	}

	if needsRunFiles(ar.def) {
		// Written before any task starts: a run (a Kafka batch) whose files
		// cannot be written yet waits for room instead of failing.
		if err := r.retryWrite(ar, "writing the run's files", ar.files.prepare); err != nil {
			log.Error("writing the run's files", "err", err)
			r.release(ar, nil)
			return
		}
	}
	failure, unsaved, err := r.runTasks(ctx, ar, order)
	if err != nil {
		// The run stays as the store has it; a restart picks it up again.
		log.Error("starting run", "err", err)
		r.release(ar, nil)
		return
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, errCancelled) {
		// What settled before the shutdown is kept; the rest is settled as
		// interrupted by Stop.
		if len(unsaved) > 0 {
			if err := r.st.PutClaimedAttempts(persistCtx, ar.claim, unsaved); err != nil {
				log.Error("recording tasks at shutdown", "err", err)
			}
		}
		log.Debug("run stopped for shutdown; Stop settles it")
		r.release(ar, nil)
		return
	}
	state, msg := api.RunSuccess, ""
	switch {
	case ctx.Err() != nil:
		state, msg = api.RunCancelled, "cancelled"
	case failure != "":
		state, msg = api.RunFailed, failure
	}
	// Tasks the run's end leaves unstarted are skipped.
	settled := map[string]bool{}
	for _, a := range unsaved {
		settled[a.Task] = true
	}
	r.mu.Lock()
	for _, t := range ar.tasks {
		if t.State == api.TaskPending && !settled[t.ID] {
			unsaved = append(unsaved, store.Attempt{RunID: id, Task: t.ID, State: api.TaskSkipped, FinishedAt: r.clock.Now()})
		}
	}
	r.mu.Unlock()
	r.finish(ar, state, msg, unsaved)
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
func (r *Runner) finish(ar *activeRun, state api.RunState, msg string, settle []store.Attempt) {
	now := r.clock.Now()
	err := r.retryWrite(ar, "committing the run's end", func() error {
		return r.st.FinishClaimed(persistCtx, ar.claim, state, msg, now, settle)
	})
	if err != nil {
		// Only a stop, a claim lost to another instance or a run the store
		// no longer has ends the retries.
		if errors.Is(err, store.ErrFenced) {
			r.log.Warn("run settled by another instance while this one was away; its end is not recorded", "run", ar.run.ID, "state", state)
		} else {
			r.log.Error("finishing run", "run", ar.run.ID, "err", err)
		}
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
		r.act.Add(ar.cand.DAG, ar.cand.DAGLimit, -1)
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
	state api.TaskState
	err   string
	// final is the task's last attempt, settled but not yet committed: the
	// caller commits it with the next write of the run.
	final *store.Attempt
}

// runTasks runs a run's tasks in topological order, up to TaskParallelism
// at once, and returns the first failure ("" when none) and the settled
// task rows not committed yet, for the run's final write. A failed task's
// descendants become upstream_failed; other branches go on. On ctx's end no
// task starts, running ones are stopped, and runTasks returns once they
// have. err is set only when the run could not be started.
func (r *Runner) runTasks(ctx context.Context, ar *activeRun, order []string) (failure string, unsaved []store.Attempt, err error) {
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
	started := false
	settled := map[string]bool{}
	// Clear from failed: a task that succeeded in the original run is not
	// run again when every task upstream of it is skipped too; it counts as
	// a success for its children. Its row rides with the run's start.
	if len(ar.run.Skip) > 0 {
		skipped := map[string]bool{}
		now := r.clock.Now()
		for _, id := range order {
			from, ok := ar.run.Skip[id]
			if !ok || waiting[id] != 0 {
				continue
			}
			skipped[id], settled[id] = true, true
			unsaved = append(unsaved, store.Attempt{RunID: ar.run.ID, Task: id, State: api.TaskSkipped,
				FinishedAt: now, Error: SkippedNote(from)})
			for _, ch := range ar.def.Children(id) {
				waiting[ch]--
			}
		}
		ready = ready[:0]
		for _, id := range order {
			if waiting[id] == 0 && !skipped[id] {
				ready = append(ready, id)
			}
		}
	}
	for {
		var launch []*dag.Node
		for len(ready) > 0 && inFlight+len(launch) < r.cfg.TaskParallelism && ctx.Err() == nil {
			launch = append(launch, nodeByID(ar.def, ready[0]))
			ready = ready[1:]
		}
		now := r.clock.Now()
		switch {
		case len(launch) > 0:
			rows := unsaved
			for _, n := range launch {
				rows = append(rows, store.Attempt{RunID: ar.run.ID, Task: n.ID, Attempt: 1, State: api.TaskRunning, StartedAt: now})
			}
			// The claim moved the run to running; every write of it is
			// fenced by the claim.
			if !started {
				// Nothing has run yet: the start waits for the store.
				err = r.retryWrite(ar, "recording the run's start", func() error {
					return r.st.PutClaimedAttempts(persistCtx, ar.claim, rows)
				})
			} else {
				err = r.st.PutClaimedAttempts(persistCtx, ar.claim, rows)
			}
			if err != nil {
				if !started {
					return "", nil, err
				}
				r.log.Error("recording task starts", "run", ar.run.ID, "err", err)
				if failure == "" {
					failure = "recording task starts: " + err.Error()
				}
				for _, n := range launch {
					settled[n.ID] = true
					unsaved = append(unsaved, store.Attempt{RunID: ar.run.ID, Task: n.ID, State: api.TaskSkipped, FinishedAt: now})
				}
				break
			}
			r.showRows(ar, rows, !started, now)
			started, unsaved = true, nil
			for _, n := range launch {
				inFlight++
				go func() { results <- r.runTask(ctx, ar, n, now) }()
			}
		case len(unsaved) > 0 && inFlight > 0:
			// Other tasks still run: show what settled now, not at the end.
			if err := r.st.PutClaimedAttempts(persistCtx, ar.claim, unsaved); err != nil {
				r.log.Error("recording settled tasks", "run", ar.run.ID, "err", err)
			} else {
				r.showRows(ar, unsaved, false, now)
				unsaved = nil
			}
		}
		if inFlight == 0 {
			return failure, unsaved, nil
		}
		res := <-results
		inFlight--
		if res.final != nil {
			unsaved = append(unsaved, *res.final)
			settled[res.id] = true
		}
		switch res.state {
		case api.TaskSuccess:
			for _, ch := range ar.def.Children(res.id) {
				waiting[ch]--
				if waiting[ch] == 0 {
					ready = append(ready, ch)
				}
			}
			slices.SortFunc(ready, func(a, b string) int { return pos[a] - pos[b] })
		case api.TaskFailed:
			if failure == "" {
				failure = fmt.Sprintf("task %s failed: %s", res.id, res.err)
			}
			unsaved = append(unsaved, upstreamFailed(ar, res.id, settled, r.clock.Now())...)
		}
	}
}

// showRows puts committed rows (and, with start, the run's start) into the
// runner's memory and tells subscribers.
func (r *Runner) showRows(ar *activeRun, rows []store.Attempt, start bool, at time.Time) {
	r.mu.Lock()
	if start {
		ar.run.State, ar.run.StartedAt, ar.started = api.RunRunning, at, true
		r.version++
	}
	for _, a := range rows {
		if i, ok := ar.index[a.Task]; ok {
			ar.tasks[i] = taskFromAttempt(a)
		}
	}
	r.mu.Unlock()
	r.changed()
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

// upstreamFailed settles every descendant of a failed task not settled yet
// (a task with two failed parents is settled once).
func upstreamFailed(ar *activeRun, failed string, settled map[string]bool, now time.Time) []store.Attempt {
	var rows []store.Attempt
	stack := ar.def.Children(failed)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if settled[id] {
			continue
		}
		settled[id] = true
		rows = append(rows, store.Attempt{RunID: ar.run.ID, Task: id, State: api.TaskUpstreamFailed,
			FinishedAt: now, Error: "upstream task " + failed + " failed"})
		stack = append(stack, ar.def.Children(id)...)
	}
	return rows
}

// runTask runs a task's attempts: retries with exponential backoff and
// jitter until success, the last allowed attempt, or the run's end. The
// first attempt's start was committed by the caller (at startedAt); a
// retry's start and a retrying attempt's end are committed here; the final
// attempt comes back unsaved in the result.
func (r *Runner) runTask(ctx context.Context, ar *activeRun, node *dag.Node, startedAt time.Time) taskResult {
	res := taskResult{id: node.ID, state: api.TaskFailed}
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
		a := store.Attempt{RunID: ar.run.ID, Task: node.ID, Attempt: attempt, State: api.TaskRunning, StartedAt: startedAt}
		if attempt > 1 {
			if ctx.Err() != nil {
				return struct{}{}, backoff.Permanent(context.Cause(ctx))
			}
			a.StartedAt = r.clock.Now()
			if err := r.putAttempt(ar, a); err != nil {
				return struct{}{}, backoff.Permanent(err)
			}
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
				extraEnv: r.cfg.TaskEnv,
				logPath:  filepath.Join(ar.files.dir, fmt.Sprintf("%s.%d.log", node.ID, attempt)),
				procs:    r.st,
			}
			err = r.runAttempt(ctx, fn, tr, common.Timeout.D())
			tr.forgetProcess()
			logFile, tail = tr.closeLog()
		}
		a.FinishedAt, a.LogFile, a.LogTail = r.clock.Now(), logFile, tail
		switch {
		case err == nil:
			a.State = api.TaskSuccess
		case ctx.Err() != nil:
			if shutdown() {
				// Left running in the store: Stop settles it as interrupted.
				return struct{}{}, backoff.Permanent(err)
			}
			a.State, a.Error = api.TaskCancelled, "cancelled"
		case uint(attempt) < maxTries:
			a.State, a.Error = api.TaskRetrying, err.Error()
		default:
			a.State, a.Error = api.TaskFailed, err.Error()
		}
		last = a
		if a.State == api.TaskRetrying {
			// Committed now: the wait before the next attempt may be long.
			if perr := r.putAttempt(ar, a); perr != nil {
				return struct{}{}, backoff.Permanent(perr)
			}
			r.log.Info("task failed, retrying", "run", ar.run.ID, "task", node.ID, "attempt", attempt, "err", err)
			return struct{}{}, err
		}
		res.final = &a
		if err == nil {
			return struct{}{}, nil
		}
		return struct{}{}, backoff.Permanent(err)
	}
	_, err := backoff.Retry(ctx, op, backoff.WithBackOff(b), backoff.WithMaxTries(maxTries), backoff.WithMaxElapsedTime(0))
	switch {
	case err == nil:
		res.state = api.TaskSuccess
	case ctx.Err() != nil:
		res.state = api.TaskCancelled
		// Cancelled while waiting to retry: the last attempt says retrying.
		if last.State == api.TaskRetrying && !shutdown() {
			last.State, last.Error, last.FinishedAt = api.TaskCancelled, "cancelled", r.clock.Now()
			res.final = &last
		}
		if shutdown() {
			res.final = nil
		}
	default:
		res.err = err.Error()
		if last.State == api.TaskFailed {
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
	if err := r.st.PutClaimedAttempts(persistCtx, ar.claim, []store.Attempt{a}); err != nil {
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

// SkippedNote is the error text of a task a clear-from-failed run skipped
// because it succeeded in run from: the console shows the state as
// "skipped (succeeded in #N)".
func SkippedNote(from int64) string { return fmt.Sprintf("succeeded in #%d", from) }
