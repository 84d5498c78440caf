package meta

import (
	"context"
	"encoding/json"
	"sync"
)

// Runs binds the metapipeline's task kinds to pipelines: the tasks of one
// run share one Pipeline (and so one State), whatever order or goroutines
// the runner uses. The engine registers it for "sluice.meta.*":
//
//	kinds.Register(meta.KindPrefix+"*", func(ctx context.Context, t *runner.TaskRun) error {
//		return metaRuns.RunTask(ctx, t.RunID, t.Node.Type, t.Config)
//	})
//
// A run whose process restarted between tasks starts a fresh Pipeline, and
// the step recomputes what it needs: steps are pure functions of inputs.
type Runs struct {
	inputs func(ctx context.Context, runConfig json.RawMessage) (Inputs, error)
	done   func(runID int64, r *Report)

	mu    sync.Mutex
	byRun map[int64]*runEntry
	order []int64 // oldest first, for eviction
}

type runEntry struct {
	once sync.Once
	p    *Pipeline
	err  error
}

// maxRuns bounds pipelines kept for runs that never reached their report
// step (failed or cancelled runs).
const maxRuns = 8

// NewRuns returns the binding. inputs builds a run's inputs from its run
// config (meta.Config.Merge then Inputs, typically); done receives each
// finished report (publish it in the snapshot, stage review items).
func NewRuns(inputs func(ctx context.Context, runConfig json.RawMessage) (Inputs, error), done func(runID int64, r *Report)) *Runs {
	return &Runs{inputs: inputs, done: done, byRun: map[int64]*runEntry{}}
}

// RunTask runs the step a task kind names for a run.
func (r *Runs) RunTask(ctx context.Context, runID int64, kind string, runConfig json.RawMessage) error {
	p, err := r.pipeline(ctx, runID, runConfig)
	if err != nil {
		return err
	}
	if err := p.RunStep(ctx, kind); err != nil {
		return err
	}
	if p.Done(StepReport) {
		r.mu.Lock()
		_, live := r.byRun[runID]
		r.forget(runID)
		r.mu.Unlock()
		if live && r.done != nil {
			r.done(runID, p.State().Report)
		}
	}
	return nil
}

// Forget drops a run's pipeline (the run ended without a report).
func (r *Runs) Forget(runID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forget(runID)
}

func (r *Runs) pipeline(ctx context.Context, runID int64, runConfig json.RawMessage) (*Pipeline, error) {
	r.mu.Lock()
	e := r.byRun[runID]
	if e == nil {
		e = &runEntry{}
		r.byRun[runID] = e
		r.order = append(r.order, runID)
		for len(r.order) > maxRuns {
			r.forget(r.order[0])
		}
	}
	r.mu.Unlock()
	e.once.Do(func() {
		var in Inputs
		if in, e.err = r.inputs(ctx, runConfig); e.err == nil {
			e.p = New(in)
		}
	})
	if e.err != nil {
		r.Forget(runID) // the next attempt builds its inputs again
		return nil, e.err
	}
	return e.p, nil
}

func (r *Runs) forget(runID int64) {
	delete(r.byRun, runID)
	for i, id := range r.order {
		if id == runID {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
}
