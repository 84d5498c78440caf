package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/engine/api"
)

// ErrForbidden marks an action the caller's role does not allow. Callers
// test for it with errors.Is; the message says who cannot do what.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError is a refused action: "viewers cannot approve reviews".
type ForbiddenError struct {
	Role   Role
	Action Action
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("%ss cannot %s", roleName(e.Role), e.Action)
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

func roleName(r Role) string {
	if r == "" {
		return "unknown role"
	}
	return string(r)
}

// Restrict returns api as seen by a role: reads pass through, actions the
// role does not allow return a *ForbiddenError without reaching the
// engine. An operator gets api itself.
func Restrict(api api.API, role Role) api.API {
	if role == Operator {
		return api
	}
	return &restricted{api: api, role: role}
}

// RoleOf reports the role an API was restricted to: Operator for an
// unrestricted engine.
func RoleOf(api api.API) Role {
	if r, ok := api.(*restricted); ok {
		return r.role
	}
	return Operator
}

type restricted struct {
	api  api.API
	role Role
}

func (r *restricted) check(a Action) error {
	if r.role.Allows(a) {
		return nil
	}
	return &ForbiddenError{Role: r.role, Action: a}
}

func (r *restricted) Snapshot() *api.Snapshot { return r.api.Snapshot() }

func (r *restricted) Subscribe() (<-chan api.Event, func()) { return r.api.Subscribe() }

// ScanNow is allowed to everyone: it only rereads the sources, which the
// engine does on its own every scan interval anyway.
func (r *restricted) ScanNow(ctx context.Context) (api.ScanResult, error) {
	return r.api.ScanNow(ctx)
}

func (r *restricted) Trigger(ctx context.Context, dag string, cfg json.RawMessage) (int64, error) {
	if err := r.check(ActionTrigger); err != nil {
		return 0, err
	}
	return r.api.Trigger(ctx, dag, cfg)
}

func (r *restricted) Cancel(ctx context.Context, run int64) error {
	if err := r.check(ActionCancel); err != nil {
		return err
	}
	return r.api.Cancel(ctx, run)
}

func (r *restricted) RunMeta(ctx context.Context) error {
	if err := r.check(ActionRunMeta); err != nil {
		return err
	}
	return r.api.RunMeta(ctx)
}

func (r *restricted) Approve(ctx context.Context, review int64) error {
	if err := r.check(ActionApprove); err != nil {
		return err
	}
	return r.api.Approve(ctx, review)
}

func (r *restricted) Reject(ctx context.Context, review int64, reason string) error {
	if err := r.check(ActionReject); err != nil {
		return err
	}
	return r.api.Reject(ctx, review, reason)
}

func (r *restricted) UndoReject(ctx context.Context, review int64) error {
	if err := r.check(ActionUnreject); err != nil {
		return err
	}
	return r.api.UndoReject(ctx, review)
}

func (r *restricted) ExcludeFromReview(ctx context.Context, review int64, model string, x api.Exclusion) error {
	if err := r.check(ActionExclude); err != nil {
		return err
	}
	return r.api.ExcludeFromReview(ctx, review, model, x)
}

func (r *restricted) PauseSensor(ctx context.Context, dag string, index int, paused bool) error {
	a := ActionResumeSensor
	if paused {
		a = ActionPauseSensor
	}
	if err := r.check(a); err != nil {
		return err
	}
	return r.api.PauseSensor(ctx, dag, index, paused)
}

func (r *restricted) Rerun(ctx context.Context, run int64, opts api.RerunOptions) (int64, error) {
	if err := r.check(ActionRerun); err != nil {
		return 0, err
	}
	return r.api.Rerun(ctx, run, opts)
}

func (r *restricted) Mark(ctx context.Context, run int64, task string, state api.RunState, reason string) error {
	if err := r.check(ActionMark); err != nil {
		return err
	}
	return r.api.Mark(ctx, run, task, state, reason)
}

func (r *restricted) PauseDAG(ctx context.Context, dag string, paused bool, reason string) error {
	a := ActionUnpauseDAG
	if paused {
		a = ActionPauseDAG
	}
	if err := r.check(a); err != nil {
		return err
	}
	return r.api.PauseDAG(ctx, dag, paused, reason)
}

func (r *restricted) PinDAG(ctx context.Context, dag string, version int) error {
	if err := r.check(ActionPinDAG); err != nil {
		return err
	}
	return r.api.PinDAG(ctx, dag, version)
}

func (r *restricted) UnpinDAG(ctx context.Context, dag string) error {
	if err := r.check(ActionUnpinDAG); err != nil {
		return err
	}
	return r.api.UnpinDAG(ctx, dag)
}

// Backfill refuses a viewer even a dry run: the plan is the first step of
// the action, and the console's form opens only for those who may act.
func (r *restricted) Backfill(ctx context.Context, req api.BackfillRequest) (api.BackfillPlan, error) {
	if err := r.check(ActionBackfill); err != nil {
		return api.BackfillPlan{}, err
	}
	return r.api.Backfill(ctx, req)
}

func (r *restricted) CancelBackfill(ctx context.Context, id int64) error {
	if err := r.check(ActionCancelBackfill); err != nil {
		return err
	}
	return r.api.CancelBackfill(ctx, id)
}

// Backfills is reading.
func (r *restricted) Backfills(ctx context.Context) ([]api.Backfill, error) {
	return r.api.Backfills(ctx)
}

// DAGVersions is reading.
func (r *restricted) DAGVersions(ctx context.Context, dag string) ([]api.DAGVersion, error) {
	return r.api.DAGVersions(ctx, dag)
}

// DAGVersionDiff is reading.
func (r *restricted) DAGVersionDiff(ctx context.Context, dag string, v1, v2 int) (string, error) {
	return r.api.DAGVersionDiff(ctx, dag, v1, v2)
}

// AuditLog is reading: every role may see who did what.
func (r *restricted) AuditLog(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	return r.api.AuditLog(ctx, q)
}

func (r *restricted) ReplayBatch(ctx context.Context, run int64, reason string) (int64, error) {
	if err := r.check(ActionReplayBatch); err != nil {
		return 0, err
	}
	return r.api.ReplayBatch(ctx, run, reason)
}

func (r *restricted) ResetOffsets(ctx context.Context, req api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	if err := r.check(ActionResetOffsets); err != nil {
		return api.ResetOffsetsPlan{}, err
	}
	return r.api.ResetOffsets(ctx, req)
}
