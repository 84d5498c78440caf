package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/runner"
	"github.com/sluice-dev/sluice/engine/store"
)

// Rerun implements API. Offline (the CLI) the run is queued in the store
// for the engine running on the state dir, as `sluice trigger` does.
func (e *Engine) Rerun(ctx context.Context, id int64, opts api.RerunOptions) (int64, error) {
	action := "rerun"
	if opts.FromFailed {
		action = "clear-from-failed"
	}
	newID, err := e.rerun(ctx, id, opts)
	result := ""
	if err == nil {
		result = fmt.Sprintf("ok: run %d", newID)
	} else if errors.Is(err, store.ErrDuplicateRerun) {
		result = fmt.Sprintf("%s: run %d already re-runs it", auditUnchanged, newID)
		e.audit(ctx, action, fmt.Sprintf("run %d", id), opts.Reason, result, nil)
		return newID, fmt.Errorf("run %d: %w by run %d", id, api.ErrRerunPending, newID)
	}
	e.audit(ctx, action, fmt.Sprintf("run %d", id), opts.Reason, result, err)
	if err != nil {
		return 0, err
	}
	e.log.Info("run re-run", "run", id, "new_run", newID, "from_failed", opts.FromFailed, "actor", actorOf(ctx))
	return newID, nil
}

func (e *Engine) rerun(ctx context.Context, id int64, opts api.RerunOptions) (int64, error) {
	st, err := e.openStore(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("re-running run %d: %w", id, err)
	}
	orig, err := st.Run(ctx, id)
	if err != nil {
		return 0, err
	}
	if !orig.Finished() {
		return 0, fmt.Errorf("re-running run %d (%s): %w: it has not finished", id, orig.State, api.ErrConflict)
	}
	nr := store.NewRun{DAG: orig.DAG, Trigger: store.TriggerRerun, Priority: orig.Priority, Config: orig.Config,
		RerunOf: id, ReuseBatch: orig.BatchID, DAGVersion: orig.DAGVersion}
	if opts.FromFailed {
		if orig.State == api.RunSuccess {
			return 0, fmt.Errorf("clearing run %d from failed: %w: it succeeded, nothing failed (re-run it instead)", id, api.ErrConflict)
		}
		tasks, err := st.Tasks(ctx, id)
		if err != nil {
			return 0, err
		}
		nr.Skip = succeededTasks(id, tasks[id])
	}
	if e.off != nil {
		nr.External, nr.QueuedAt = true, e.now()
		return st.CreateRun(ctx, nr)
	}
	return e.runner.Enqueue(ctx, nr)
}

// succeededTasks are the tasks of run id that a clear-from-failed run need
// not run again, each with the run it succeeded in: those that succeeded
// in it, and those it skipped because they had succeeded before.
func succeededTasks(id int64, rows []store.Attempt) map[string]int64 {
	skip := map[string]int64{}
	for _, a := range rows {
		switch a.State {
		case api.TaskSuccess:
			skip[a.Task] = id
		case api.TaskSkipped:
			if n, ok := strings.CutPrefix(a.Error, strings.TrimSuffix(runner.SkippedNote(0), "0")); ok {
				if from, err := strconv.ParseInt(n, 10, 64); err == nil {
					skip[a.Task] = from
				}
			}
		}
	}
	return skip
}

// Mark implements API.
func (e *Engine) Mark(ctx context.Context, id int64, task string, state api.RunState, reason string) error {
	_, err := e.MarkChanged(ctx, id, task, state, reason)
	return err
}

// MarkChanged is Mark that also reports whether anything changed: false
// when the run (or task) was in that state already, which the audit log
// records as unchanged.
func (e *Engine) MarkChanged(ctx context.Context, id int64, task string, state api.RunState, reason string) (bool, error) {
	target := fmt.Sprintf("run %d", id)
	if task != "" {
		target = fmt.Sprintf("task %s of run %d", task, id)
	}
	changed, err := e.mark(ctx, id, task, state, reason)
	result := ""
	if err == nil && !changed {
		result = fmt.Sprintf("%s: already %s", auditUnchanged, state)
	}
	e.audit(ctx, "mark "+string(state), target, reason, result, err)
	return changed, err
}

func (e *Engine) mark(ctx context.Context, id int64, task string, state api.RunState, reason string) (bool, error) {
	if strings.TrimSpace(reason) == "" {
		return false, fmt.Errorf("marking run %d: a reason is required", id)
	}
	st, err := e.openStore(ctx, false)
	if err != nil {
		return false, fmt.Errorf("marking run %d: %w", id, err)
	}
	note := fmt.Sprintf("marked %s by %s: %s", state, actorOf(ctx), reason)
	changed, err := st.Mark(ctx, id, task, state, note, e.now())
	if err != nil || !changed {
		return changed, err
	}
	if e.off == nil {
		if err := e.runner.Reload(ctx, id); err != nil {
			e.log.Warn("showing a marked run", "run", id, "err", err)
		}
	}
	e.log.Info("run marked", "run", id, "task", task, "state", state, "actor", actorOf(ctx))
	return true, nil
}

// PauseDAG implements API.
func (e *Engine) PauseDAG(ctx context.Context, name string, paused bool, reason string) error {
	_, err := e.PauseDAGChanged(ctx, name, paused, reason)
	return err
}

// PauseDAGChanged is PauseDAG that also reports whether anything changed:
// false when the DAG was paused (or unpaused) already.
func (e *Engine) PauseDAGChanged(ctx context.Context, name string, paused bool, reason string) (bool, error) {
	action := "pause"
	if !paused {
		action = "unpause"
	}
	changed, err := e.pauseDAG(ctx, name, paused, reason)
	result := ""
	if err == nil && !changed {
		result = auditUnchanged + ": already " + action + "d"
	}
	e.audit(ctx, action, "dag "+name, reason, result, err)
	return changed, err
}

func (e *Engine) pauseDAG(ctx context.Context, name string, paused bool, reason string) (bool, error) {
	if name == "" {
		return false, errors.New("pausing: name the DAG")
	}
	st, err := e.openStore(ctx, true)
	if err != nil {
		return false, err
	}
	var changed bool
	if paused {
		changed, err = st.PauseDAG(ctx, name, api.DAGPause{By: actorOf(ctx), At: e.now(), Reason: reason})
	} else {
		changed, err = st.UnpauseDAG(ctx, name)
	}
	if err != nil {
		return false, err
	}
	if e.off == nil {
		e.refreshPauses(ctx)
	}
	return changed, nil
}

// refreshPauses re-reads the paused DAGs (this engine's PauseDAG, or the
// CLI's on the same state dir) and, when they changed, stops or restarts
// their schedules and sensors.
func (e *Engine) refreshPauses(ctx context.Context) {
	if e.st == nil {
		return
	}
	p, err := e.st.PausedDAGs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("reading paused dags", "err", err)
		}
		return
	}
	e.pauseMu.Lock()
	same := maps.Equal(p, e.paused)
	e.paused = p
	e.pauseMu.Unlock()
	if same {
		return
	}
	names := slices.Sorted(maps.Keys(p))
	e.log.Info("paused dags", "dags", strings.Join(names, ","), "count", len(names))
	e.applySensorPauses()
	e.sched.Poke()
	e.events.publish(api.TopicDAGs | api.TopicSensors)
}

// pausedDAG is the pause of a DAG, nil when it runs.
func (e *Engine) pausedDAG(name string) *api.DAGPause {
	e.pauseMu.Lock()
	defer e.pauseMu.Unlock()
	if p, ok := e.paused[name]; ok {
		return &p
	}
	return nil
}

// firingDAGs are the definitions the scheduler fires: those that may fire,
// less the paused ones.
func (e *Engine) firingDAGs() []*dag.DAG {
	all := e.scheduledDAGs()
	out := all[:0:0]
	for _, d := range all {
		if e.pausedDAG(d.Name) == nil {
			out = append(out, d)
		}
	}
	return out
}

// applySensorPauses pauses the sensors of paused DAGs (they stay listed,
// their lag still measured) and resumes those of the others that it
// paused.
func (e *Engine) applySensorPauses() {
	for _, d := range e.scheduledDAGs() {
		paused := e.pausedDAG(d.Name) != nil
		e.pauseMu.Lock()
		was := e.sensorsPaused[d.Name]
		if paused {
			e.sensorsPaused[d.Name] = true
		} else {
			delete(e.sensorsPaused, d.Name)
		}
		e.pauseMu.Unlock()
		if paused == was && !paused {
			continue
		}
		who := ""
		if p := e.pausedDAG(d.Name); p != nil {
			who = p.By + " (the DAG is paused)"
		}
		for i := range d.Sensors {
			if err := e.sensors.Pause(d.Name, i, paused, who); err != nil {
				e.log.Debug("pausing a sensor of a paused dag", "dag", d.Name, "sensor", i, "err", err)
			}
		}
	}
}

// watchPauses notices pauses made by another process on the state dir.
func (e *Engine) watchPauses(ctx context.Context) {
	tick := time.NewTicker(pausePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			e.refreshPauses(ctx)
			e.refreshPins(ctx)
			e.feedBackfills(ctx)
		}
	}
}

// pausePoll is how soon a pause made by `sluice dags pause` reaches a
// running engine.
const pausePoll = 500 * time.Millisecond
