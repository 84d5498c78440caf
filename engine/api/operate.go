package api

import (
	"context"
	"errors"
	"time"
)

// Operations are the operator's hands beyond trigger and cancel: re-run,
// clear from failed, mark, pause a DAG, and the audit log that records every
// action. Each is one method, the same for the console, the CLI and an SSH
// session; each records who did it (ActorOf the call's context).
type Operations interface {
	// Rerun queues a new run of a finished run's DAG with the same run
	// config, linked to it. With FromFailed the new run skips the tasks
	// that succeeded in the original and runs the failed ones and
	// everything downstream of them. When a re-run of run is already
	// queued or running, nothing new is queued: Rerun returns that run's
	// id with an error wrapping ErrRerunPending.
	Rerun(ctx context.Context, run int64, opts RerunOptions) (int64, error)
	// Mark sets a finished run's state (task empty) or one of its tasks'
	// state to success or failed, with a reason.
	Mark(ctx context.Context, run int64, task string, state RunState, reason string) error
	// PauseDAG pauses (or unpauses) a DAG: its schedules and sensors stop
	// firing; manual triggers still run. The pause is stored and outlives
	// restarts and file edits.
	PauseDAG(ctx context.Context, dag string, paused bool, reason string) error
	// AuditLog lists recorded actions, newest first.
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)

	// DAGVersions lists a DAG's stored versions, newest first, the file's
	// and the pinned one flagged.
	DAGVersions(ctx context.Context, dag string) ([]DAGVersion, error)
	// DAGVersionDiff is the unified diff from version v1 to v2 of a DAG.
	DAGVersionDiff(ctx context.Context, dag string, v1, v2 int) (string, error)
	// PinDAG makes the engine run a stored version of a DAG whatever its
	// file says, until UnpinDAG.
	PinDAG(ctx context.Context, dag string, version int) error
	UnpinDAG(ctx context.Context, dag string) error

	// Backfill plans one run of a scheduled DAG per fire time in a range,
	// less those already answered (see Reprocess), and unless DryRun
	// queues them as one backfill.
	Backfill(ctx context.Context, req BackfillRequest) (BackfillPlan, error)
	// Backfills lists backfills with their progress, newest first.
	Backfills(ctx context.Context) ([]Backfill, error)
	// CancelBackfill stops a backfill: nothing more is queued and its
	// queued and running runs are cancelled.
	CancelBackfill(ctx context.Context, id int64) error

	SensorOperations
}

// ErrConflict: the action does not apply to the target's current state
// (re-running a run still running, marking a queued run).
var ErrConflict = errors.New("not possible in this state")

// ErrRerunPending: a re-run of the run is already queued or running, and
// carries what was asked; Rerun returns its id.
var ErrRerunPending = errors.New("already being re-run")

// RerunOptions tune Rerun.
type RerunOptions struct {
	// FromFailed skips the tasks that succeeded in the original run.
	FromFailed bool
	// Reason is recorded in the audit log.
	Reason string
}

// AuditEntry is one recorded operator action.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"` // trigger, cancel, rerun, mark, pause, …
	Target  string    `json:"target"` // "run 12", "dag daily_etl", "review 3"
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
}

// Audit outcomes: "ok", or the refusal's error text.
const AuditOK = "ok"

// AuditQuery filters AuditLog.
type AuditQuery struct {
	Since time.Time // zero: from the start
	Limit int       // 0: every entry
}

// DAGPause says a DAG is paused, by whom and when.
type DAGPause struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

type actorKey struct{}

// WithActor tells the engine who makes the calls made with ctx: in
// `sluice serve` the SSH key that logged in (its comment and fingerprint,
// never the user name the client chose), the OS user at a local console or
// in the CLI.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorOf is the actor WithActor set; "" when none.
func ActorOf(ctx context.Context) string {
	s, _ := ctx.Value(actorKey{}).(string)
	return s
}

// NoOperations implements Operations with ErrNotAvailable: front ends'
// test doubles embed it to stand for an engine without them.
type NoOperations struct{}

// Rerun implements Operations.
func (NoOperations) Rerun(context.Context, int64, RerunOptions) (int64, error) {
	return 0, ErrNotAvailable
}

// Mark implements Operations.
func (NoOperations) Mark(context.Context, int64, string, RunState, string) error {
	return ErrNotAvailable
}

// PauseDAG implements Operations.
func (NoOperations) PauseDAG(context.Context, string, bool, string) error { return ErrNotAvailable }

// AuditLog implements Operations.
func (NoOperations) AuditLog(context.Context, AuditQuery) ([]AuditEntry, error) {
	return nil, ErrNotAvailable
}

// DAGVersions implements Operations.
func (NoOperations) DAGVersions(context.Context, string) ([]DAGVersion, error) {
	return nil, ErrNotAvailable
}

// DAGVersionDiff implements Operations.
func (NoOperations) DAGVersionDiff(context.Context, string, int, int) (string, error) {
	return "", ErrNotAvailable
}

// PinDAG implements Operations.
func (NoOperations) PinDAG(context.Context, string, int) error { return ErrNotAvailable }

// UnpinDAG implements Operations.
func (NoOperations) UnpinDAG(context.Context, string) error { return ErrNotAvailable }

// Backfill implements Operations.
func (NoOperations) Backfill(context.Context, BackfillRequest) (BackfillPlan, error) {
	return BackfillPlan{}, ErrNotAvailable
}

// Backfills implements Operations.
func (NoOperations) Backfills(context.Context) ([]Backfill, error) { return nil, ErrNotAvailable }

// CancelBackfill implements Operations.
func (NoOperations) CancelBackfill(context.Context, int64) error { return ErrNotAvailable }

// ReplayBatch implements Operations.
func (NoOperations) ReplayBatch(context.Context, int64, string) (int64, error) {
	return 0, ErrNotAvailable
}

// ResetOffsets implements Operations.
func (NoOperations) ResetOffsets(context.Context, ResetOffsetsRequest) (ResetOffsetsPlan, error) {
	return ResetOffsetsPlan{}, ErrNotAvailable
}
