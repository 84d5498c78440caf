package config

import (
	"context"
	"encoding/json"

	"github.com/sluice-dev/sluice/engine/api"
)

// RedactAPI returns inner with every known secret removed from what it
// shows: the text of snapshots (log records, errors, task log tails, run
// configs, diffs) and the messages of errors it returns. A task that
// prints its environment, or a library that quotes a credential in an
// error, then still shows nothing secret on anyone's screen. Errors keep
// their identity for errors.Is and errors.As.
func RedactAPI(inner api.API, r *Redactor) api.API {
	if r.Empty() {
		return inner
	}
	return &redactedAPI{api: inner, r: r}
}

type redactedAPI struct {
	api api.API
	r   *Redactor
}

// redactedError shows a redacted message and unwraps to the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (a *redactedAPI) err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := a.r.String(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

func (a *redactedAPI) Subscribe() (<-chan api.Event, func()) { return a.api.Subscribe() }

func (a *redactedAPI) ScanNow(ctx context.Context) (api.ScanResult, error) {
	res, err := a.api.ScanNow(ctx)
	return res, a.err(err)
}

func (a *redactedAPI) Trigger(ctx context.Context, dag string, cfg json.RawMessage) (int64, error) {
	id, err := a.api.Trigger(ctx, dag, cfg)
	return id, a.err(err)
}

func (a *redactedAPI) Cancel(ctx context.Context, run int64) error {
	return a.err(a.api.Cancel(ctx, run))
}

func (a *redactedAPI) RunMeta(ctx context.Context) error { return a.err(a.api.RunMeta(ctx)) }

func (a *redactedAPI) Approve(ctx context.Context, review int64) error {
	return a.err(a.api.Approve(ctx, review))
}

func (a *redactedAPI) Reject(ctx context.Context, review int64, reason string) error {
	return a.err(a.api.Reject(ctx, review, reason))
}

func (a *redactedAPI) UndoReject(ctx context.Context, review int64) error {
	return a.err(a.api.UndoReject(ctx, review))
}

func (a *redactedAPI) ExcludeFromReview(ctx context.Context, review int64, model string, x api.Exclusion) error {
	return a.err(a.api.ExcludeFromReview(ctx, review, model, x))
}

func (a *redactedAPI) PauseSensor(ctx context.Context, dag string, index int, paused bool) error {
	return a.err(a.api.PauseSensor(ctx, dag, index, paused))
}

// Snapshot copies only what redaction changes: the snapshot is shared and
// immutable, so a slice is copied the first time one of its elements
// changes, and never otherwise.
func (a *redactedAPI) Snapshot() *api.Snapshot {
	s := a.api.Snapshot()
	if s == nil {
		return nil
	}
	out := *s
	rs := a.r.String
	out.Logs = mapSlice(s.Logs, func(l *api.LogRecord) bool {
		c := set(&l.Msg, rs)
		return set(&l.Attrs, rs) || c
	})
	out.Sources = mapSlice(s.Sources, func(x *api.Source) bool { return set(&x.Error, rs) })
	out.DAGs = mapSlice(s.DAGs, func(d *api.DAG) bool {
		changed := false
		d.Errors = mapSlice(d.Errors, func(e *api.ErrorLine) bool {
			c := set(&e.Msg, rs)
			changed = changed || c
			return c
		})
		return changed
	})
	run := func(r *api.Run) bool {
		changed := set(&r.Error, rs)
		if cfg := string(r.Config); cfg != "" {
			if red := rs(cfg); red != cfg {
				r.Config, changed = json.RawMessage(red), true
			}
		}
		r.Tasks = mapSlice(r.Tasks, func(t *api.Task) bool {
			c := set(&t.Error, rs)
			c = set(&t.LogTail, rs) || c
			changed = changed || c
			return c
		})
		return changed
	}
	out.Runs.Queued = mapSlice(s.Runs.Queued, run)
	out.Runs.Running = mapSlice(s.Runs.Running, run)
	out.Runs.Finished = mapSlice(s.Runs.Finished, run)
	out.Sensors = mapSlice(s.Sensors, func(x *api.Sensor) bool {
		changed := set(&x.Error, rs)
		x.Ticks = mapSlice(x.Ticks, func(t *api.Tick) bool {
			c := set(&t.Error, rs)
			changed = changed || c
			return c
		})
		return changed
	})
	out.Reviews = mapSlice(s.Reviews, func(x *api.Review) bool {
		c := set(&x.Error, rs)
		c = set(&x.Diff, rs) || c
		c = set(&x.Title, rs) || c
		return c
	})
	return &out
}

// set redacts *p and reports whether it changed.
func set(p *string, redact func(string) string) bool {
	red := redact(*p)
	if red == *p {
		return false
	}
	*p = red
	return true
}

// mapSlice applies fix to a copy of each element and returns in, or a new
// slice when any element changed. fix may replace nested slices of its
// element; it reports whether anything changed.
func mapSlice[T any](in []T, fix func(*T) bool) []T {
	var out []T
	for i := range in {
		el := in[i]
		if !fix(&el) {
			if out != nil {
				out[i] = el
			}
			continue
		}
		if out == nil {
			out = make([]T, len(in))
			copy(out, in[:i])
		}
		out[i] = el
	}
	if out == nil {
		return in
	}
	return out
}

func (a *redactedAPI) Rerun(ctx context.Context, run int64, opts api.RerunOptions) (int64, error) {
	id, err := a.api.Rerun(ctx, run, opts)
	return id, a.err(err)
}

func (a *redactedAPI) Mark(ctx context.Context, run int64, task string, state api.RunState, reason string) error {
	return a.err(a.api.Mark(ctx, run, task, state, reason))
}

func (a *redactedAPI) PauseDAG(ctx context.Context, dag string, paused bool, reason string) error {
	return a.err(a.api.PauseDAG(ctx, dag, paused, reason))
}

func (a *redactedAPI) PinDAG(ctx context.Context, dag string, version int) error {
	return a.err(a.api.PinDAG(ctx, dag, version))
}

func (a *redactedAPI) UnpinDAG(ctx context.Context, dag string) error {
	return a.err(a.api.UnpinDAG(ctx, dag))
}

func (a *redactedAPI) Backfill(ctx context.Context, req api.BackfillRequest) (api.BackfillPlan, error) {
	p, err := a.api.Backfill(ctx, req)
	return p, a.err(err)
}

func (a *redactedAPI) Backfills(ctx context.Context) ([]api.Backfill, error) {
	bs, err := a.api.Backfills(ctx)
	return bs, a.err(err)
}

func (a *redactedAPI) CancelBackfill(ctx context.Context, id int64) error {
	return a.err(a.api.CancelBackfill(ctx, id))
}

func (a *redactedAPI) DAGVersions(ctx context.Context, dag string) ([]api.DAGVersion, error) {
	vs, err := a.api.DAGVersions(ctx, dag)
	return vs, a.err(err)
}

// DAGVersionDiff redacts the diff: a DAG file may hold a secret.
func (a *redactedAPI) DAGVersionDiff(ctx context.Context, dag string, v1, v2 int) (string, error) {
	d, err := a.api.DAGVersionDiff(ctx, dag, v1, v2)
	return a.r.String(d), a.err(err)
}

// AuditLog redacts the outcomes: they quote errors.
func (a *redactedAPI) AuditLog(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	entries, err := a.api.AuditLog(ctx, q)
	for i := range entries {
		entries[i].Outcome = a.r.String(entries[i].Outcome)
		entries[i].Reason = a.r.String(entries[i].Reason)
	}
	return entries, a.err(err)
}

func (a *redactedAPI) ReplayBatch(ctx context.Context, run int64, reason string) (int64, error) {
	id, err := a.api.ReplayBatch(ctx, run, reason)
	return id, a.err(err)
}

func (a *redactedAPI) ResetOffsets(ctx context.Context, req api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	p, err := a.api.ResetOffsets(ctx, req)
	return p, a.err(err)
}
