package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

// maxBackfillFires bounds one backfill: a typo in a range ("every
// second for a year") is refused rather than stored.
const maxBackfillFires = 100_000

// Backfill implements API.
func (e *Engine) Backfill(ctx context.Context, req api.BackfillRequest) (api.BackfillPlan, error) {
	plan, err := e.backfill(ctx, req)
	if req.DryRun {
		return plan, err
	}
	result := ""
	if err == nil {
		result = fmt.Sprintf("ok: backfill %d, %d runs, %d skipped", plan.Backfill.ID, len(plan.Fires), len(plan.Skipped))
	}
	e.audit(ctx, "backfill", "dag "+req.DAG, fmt.Sprintf("%s..%s reprocess %s", req.From.UTC().Format(time.RFC3339),
		req.To.UTC().Format(time.RFC3339), req.Reprocess), result, err)
	return plan, err
}

func (e *Engine) backfill(ctx context.Context, req api.BackfillRequest) (api.BackfillPlan, error) {
	var plan api.BackfillPlan
	switch req.Reprocess {
	case "":
		req.Reprocess = api.ReprocessFailed
	case api.ReprocessFailed, api.ReprocessAll, api.ReprocessNone:
	default:
		return plan, fmt.Errorf("backfilling %q: --reprocess is failed, all or none, not %q", req.DAG, req.Reprocess)
	}
	if req.To.Before(req.From) {
		return plan, fmt.Errorf("backfilling %q: the range ends before it starts", req.DAG)
	}
	st, err := e.openStore(ctx, !req.DryRun)
	if err != nil {
		return plan, err
	}
	def, err := e.definition(ctx, st, req.DAG)
	if err != nil {
		return plan, fmt.Errorf("backfilling %q: %w", req.DAG, err)
	}
	if def.Schedule == "" {
		return plan, fmt.Errorf("backfilling %q: it has no schedule", req.DAG)
	}
	var fires []time.Time
	for t := def.NextFire(req.From.Add(-time.Nanosecond)); !t.IsZero() && !t.After(req.To); t = def.NextFire(t) {
		if len(fires) == maxBackfillFires {
			return plan, fmt.Errorf("backfilling %q: more than %d fire times in the range", req.DAG, maxBackfillFires)
		}
		fires = append(fires, t)
	}
	answered, err := st.ScheduledRuns(ctx, req.DAG, req.From, req.To)
	if err != nil {
		return plan, err
	}
	plan.Fires = make([]time.Time, 0, len(fires))
	for _, t := range fires {
		r, ok := answered[t.UnixNano()]
		switch {
		case ok && req.Reprocess == api.ReprocessFailed && r.State == api.RunSuccess:
			plan.Skipped = append(plan.Skipped, api.SkippedFire{At: t, Run: r.ID, Reason: fmt.Sprintf("succeeded in #%d", r.ID)})
		case ok && req.Reprocess == api.ReprocessNone:
			plan.Skipped = append(plan.Skipped, api.SkippedFire{At: t, Run: r.ID, Reason: fmt.Sprintf("%s in #%d", r.State, r.ID)})
		default:
			plan.Fires = append(plan.Fires, t)
		}
	}
	if req.DryRun || len(plan.Fires) == 0 {
		return plan, nil
	}
	b := api.Backfill{DAG: req.DAG, From: req.From, To: req.To, Reprocess: req.Reprocess, MaxActive: max(req.MaxActive, 0),
		DAGVersion: def.Version, By: actorOf(ctx), CreatedAt: e.now()}
	id, err := st.CreateBackfill(ctx, b, plan.Fires)
	if err != nil {
		return plan, err
	}
	if plan.Backfill, err = st.Backfill(ctx, id); err != nil {
		return plan, err
	}
	e.log.Info("backfill queued", "backfill", id, "dag", req.DAG, "runs", len(plan.Fires), "skipped", len(plan.Skipped),
		"actor", actorOf(ctx))
	return plan, nil
}

// definition is the DAG's definition as a backfill plans it: the running
// engine's (pinned or the file's); offline, the pinned or newest stored
// version.
func (e *Engine) definition(ctx context.Context, st store.Interface, name string) (*dag.DAG, error) {
	if e.off == nil {
		def, ok := e.dags.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("no such active DAG")
		}
		return def, nil
	}
	v, err := e.storedVersion(ctx, st, name)
	if err != nil {
		return nil, err
	}
	if v == 0 {
		return nil, errors.New("no version of it stored: an engine has not loaded it on this state dir")
	}
	sv, err := st.DAGVersion(ctx, name, v)
	if err != nil {
		return nil, err
	}
	def, err := dag.Parse(sv.Source, sv.Content, dag.Options{})
	if err != nil {
		return nil, err
	}
	def.Name, def.Version = name, v
	return def, nil
}

// Backfills implements API.
func (e *Engine) Backfills(ctx context.Context) ([]api.Backfill, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.Backfills(ctx)
}

// CancelBackfill implements API.
func (e *Engine) CancelBackfill(ctx context.Context, id int64) error {
	n, err := e.cancelBackfill(ctx, id)
	result := ""
	if err == nil {
		result = fmt.Sprintf("ok: %d runs cancelled", n)
	}
	e.audit(ctx, "cancel backfill", fmt.Sprintf("backfill %d", id), "", result, err)
	return err
}

func (e *Engine) cancelBackfill(ctx context.Context, id int64) (int, error) {
	st, err := e.openStore(ctx, false)
	if err != nil {
		return 0, err
	}
	active, err := st.CancelBackfill(ctx, id)
	if err != nil {
		return 0, err
	}
	return e.cancelRuns(ctx, st, active), nil
}

// cancelRuns cancels runs of a cancelled backfill: through the queue in a
// running engine; offline the queued ones in the store (an engine running
// on it cancels the running ones when it next feeds backfills).
func (e *Engine) cancelRuns(ctx context.Context, st store.Interface, ids []int64) int {
	n := 0
	for _, id := range ids {
		var err error
		if e.off == nil {
			err = e.runner.Cancel(ctx, id)
		} else {
			err = st.CancelQueued(ctx, id, e.now(), "backfill cancelled")
		}
		if err == nil {
			n++
		}
	}
	return n
}

// feedBackfills queues what room each running backfill has, and cancels
// the runs of backfills cancelled from another process.
func (e *Engine) feedBackfills(ctx context.Context) {
	bs, err := e.st.Backfills(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("reading backfills", "err", err)
		}
		return
	}
	for _, b := range bs {
		switch {
		case b.State == api.BackfillRunning && b.Pending > 0:
			if _, err := e.st.FeedBackfill(ctx, b.ID, e.now()); err != nil && ctx.Err() == nil {
				e.log.Warn("queueing backfill runs", "backfill", b.ID, "err", err)
			}
		case b.State == api.BackfillCancelled && b.Queued+b.Running > 0:
			active, err := e.st.CancelBackfill(ctx, b.ID)
			if err == nil {
				e.cancelRuns(ctx, e.st, active)
			}
		}
	}
}
