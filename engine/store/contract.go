package store

import (
	"context"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Interface is the store contract: every method the runner, the
// scheduler, the sensors and the review service call. Two implementations
// satisfy it — *Store (SQLite, this package: the embedded default) and
// engine/store/postgres (several instances on one database) — and one test
// suite (engine/store/storetest) holds both to the same behaviour.
//
// Users hold an Interface, never a concrete store; engine/store/storeopen
// picks the implementation from a URL.
//
// A store does not tell the time: every time it records comes from its
// caller's clock — an at or now argument, or a field (NewRun.QueuedAt,
// AuditEntry.At, Backfill.CreatedAt, DAGVersion.LastSeen). A zero field
// falls back to the wall clock, a convenience for tests; the engine always
// sets it.
type Interface interface {
	Runs
	Schedules
	Ticks
	Reviews
	Processes
	Claims
	Instances
	Notifications
	Operator
	Versions
	Backfills
	SensorLags

	// AppliedMigrations lists the schema versions recorded, ascending.
	AppliedMigrations(ctx context.Context) ([]int, error)
	// Close waits for pending writes and releases the database.
	Close() error
}

// Runs persists runs, their task attempts and the batches sensor runs
// carry.
type Runs interface {
	// CreateRun stores a queued run and returns its id. With a batch
	// already stored it returns the id of the run carrying it and
	// ErrDuplicateBatch.
	CreateRun(ctx context.Context, nr NewRun) (int64, error)
	// StartRun moves a queued run to running with its first task rows;
	// ErrNotQueued when it is not queued.
	StartRun(ctx context.Context, id int64, at time.Time, attempts ...Attempt) error
	// FinishRun settles a run and the task rows its end settled.
	FinishRun(ctx context.Context, id int64, state api.RunState, errMsg string, at time.Time, settle []Attempt) error
	// CancelQueued cancels a queued run; ErrNotQueued or ErrNotFound
	// otherwise.
	CancelQueued(ctx context.Context, id int64, at time.Time, reason string) error
	PutAttempt(ctx context.Context, a Attempt) error
	PutAttempts(ctx context.Context, as []Attempt) error
	// Run returns one run; ErrNotFound when there is none.
	Run(ctx context.Context, id int64) (Run, error)
	// ListRuns returns runs, newest first.
	ListRuns(ctx context.Context, o ListOptions) ([]Run, error)
	// ClaimQueued adopts every queued run and returns them in id order.
	ClaimQueued(ctx context.Context) ([]Run, error)
	// ClaimExternal returns the runs other processes inserted since the
	// last call, adopting them.
	ClaimExternal(ctx context.Context) ([]Run, error)
	// QueuedCount counts a DAG's queued runs (every DAG's when dag is "").
	QueuedCount(ctx context.Context, dag string) (int, error)
	// FinishedCount counts the finished runs (succeeded, failed or
	// cancelled), for the console's "latest 200 of 6,777".
	FinishedCount(ctx context.Context) (int, error)
	// Tasks returns the latest row of each task of each run, by task name.
	Tasks(ctx context.Context, runIDs ...int64) (map[int64][]Attempt, error)
	// Attempts returns every attempt of one task of a run, oldest first.
	Attempts(ctx context.Context, runID int64, task string) ([]Attempt, error)
	BatchMessages(ctx context.Context, batchID int64) ([]byte, error)
	// Recover settles the runs a crash left running (failed, interrupted)
	// and re-queues those retry accepts, in one transaction.
	Recover(ctx context.Context, at time.Time, retry func(Run) bool) ([]Interrupted, error)
}

// Claims are how instances take queued runs and settle them: one code
// path for one process on SQLite and several on PostgreSQL.
type Claims interface {
	// ClaimRuns takes up to max queued runs (highest priority, then
	// oldest) that lim allows with the runs running across every instance,
	// moving them to running under instance with a new claim token each.
	// With none taken, wait says why the first queued run waits ("" when
	// nothing is queued).
	ClaimRuns(ctx context.Context, instance string, at time.Time, lim ClaimLimits, max int) (claims []Claim, wait string, err error)
	// PutClaimedAttempts stores task rows of a claimed run while the claim
	// holds; ErrFenced (nothing written) once it does not.
	PutClaimedAttempts(ctx context.Context, c ClaimRef, as []Attempt) error
	// FinishClaimed settles a claimed run like FinishRun while the claim
	// holds; ErrFenced (nothing written) once it does not.
	FinishClaimed(ctx context.Context, c ClaimRef, state api.RunState, errMsg string, at time.Time, settle []Attempt) error
	// SetClaimedVersion records the DAG version a claimed run runs when it
	// was queued without one (a trigger before any version was stored);
	// a version already recorded stays. ErrFenced (nothing written) once
	// the claim does not hold.
	SetClaimedVersion(ctx context.Context, c ClaimRef, version int) error
	// ReleaseClaims settles instance's running runs as interrupted (its
	// clean stop), re-queueing those retry accepts.
	ReleaseClaims(ctx context.Context, instance string, at time.Time, retry func(Run) bool) ([]Interrupted, error)
	// ReapDead settles as interrupted the running runs of dead instances
	// other than self, re-queueing those retry accepts, each exactly once
	// however many instances reap together. On PostgreSQL an instance is
	// dead when its heartbeat is older than lease; on SQLite, where one
	// process holds the state dir, every other instance is.
	ReapDead(ctx context.Context, self string, at time.Time, lease time.Duration, retry func(Run) bool) ([]Interrupted, error)
}

// Instances records the processes using the store.
type Instances interface {
	// Register records an instance as started (again, when its id is
	// reused).
	Register(ctx context.Context, in Instance) error
	// Heartbeat moves an instance's last heartbeat to at (never back) and
	// revives it if it was reaped.
	Heartbeat(ctx context.Context, id string, at time.Time) error
	// Deregister marks an instance stopped (a clean shutdown).
	Deregister(ctx context.Context, id string, at time.Time) error
	// Instances lists every registered instance, oldest start first.
	Instances(ctx context.Context) ([]Instance, error)
}

// Schedules keeps each scheduled DAG's last fire time.
type Schedules interface {
	LastFires(ctx context.Context) (map[string]time.Time, error)
	// SetLastFire records a fire time; an earlier one never replaces a
	// later one.
	SetLastFire(ctx context.Context, dag string, at time.Time) error
}

// Ticks keeps Kafka sensor ticks and answers how far a DAG's batches
// reach.
type Ticks interface {
	RecordTick(ctx context.Context, t Tick) (int64, error)
	// RecentTicks returns a sensor's newest ticks, newest first.
	RecentTicks(ctx context.Context, dag string, sensor, limit int) ([]Tick, error)
	// BatchHighWater is the highest offset of topic/partition a run of dag
	// carries; ok=false when none does.
	BatchHighWater(ctx context.Context, dag, topic string, partition int32) (last int64, ok bool, err error)
	// ReleaseBatches lets go of dag's live batches of topic/partition that
	// reach offset from or beyond (a consumer group reset to reprocess
	// them): their runs keep them, but BatchHighWater and the batch key no
	// longer count them. It returns how many it released.
	ReleaseBatches(ctx context.Context, dag, topic string, partition int32, from int64, at time.Time) (int, error)
}

// Reviews keeps review items with an optimistic version check.
type Reviews interface {
	CreateReview(ctx context.Context, r *ReviewRecord) error
	// UpdateReview saves r if the stored version is still r.Version;
	// ErrReviewConflict when another writer got there first.
	UpdateReview(ctx context.Context, r *ReviewRecord, ev ReviewEvent) error
	Review(ctx context.Context, id int64) (ReviewRecord, error)
	// Reviews returns every item, newest first.
	Reviews(ctx context.Context) ([]ReviewRecord, error)
}

// Notifications is the outbox of notifications (issue 17): events are
// stored for each target before they are sent, sent in seq order, and
// marked once delivered.
type Notifications interface {
	// AddNotifications stores the notifications whose (Target, EventID) is
	// not stored yet, in order, and returns how many were new. One stored
	// already, pending or sent, is left as it is.
	AddNotifications(ctx context.Context, ns []Notification) (int, error)
	// PendingNotifications returns up to limit of target's unsent
	// notifications, oldest (lowest Seq) first.
	PendingNotifications(ctx context.Context, target string, limit int) ([]Notification, error)
	// MarkNotificationsSent records the notifications seqs as delivered.
	MarkNotificationsSent(ctx context.Context, seqs []int64, at time.Time) error
	// NotificationFailed counts one more failed attempt of each of seqs,
	// remembering errMsg.
	NotificationFailed(ctx context.Context, seqs []int64, errMsg string) error
	// NotificationStatus sums up the outbox of each target, by name.
	NotificationStatus(ctx context.Context) ([]NotificationTarget, error)
	// PruneNotifications deletes the notifications sent before cutoff (the
	// dedup of their ids ends with them) and returns how many.
	PruneNotifications(ctx context.Context, cutoff time.Time) (int, error)
	// ClaimNotifications claims for holder, until until, up to limit of
	// target's unsent notifications, oldest first, and returns them. It
	// skips every subject of which another holder's claim lasts past now:
	// a subject's notifications go out in order, through one holder at a
	// time. Claiming again renews holder's claims; an expired claim (its
	// holder died) is taken over. Claims of one target are serialised, so
	// two instances never claim the same row.
	ClaimNotifications(ctx context.Context, target, holder string, now, until time.Time, limit int) ([]Notification, error)
	// ReleaseNotifications drops holder's claims on unsent notifications
	// (an instance stopping hands them over at once).
	ReleaseNotifications(ctx context.Context, holder string) error
	// RecordNotifyStates sets each subject's last announced state and
	// returns, for each, the generation of the change (1 for a subject
	// first seen), or 0 when the state was already that: an instance
	// announces a transition only when it made the change, so two
	// instances seeing one change announce it once.
	RecordNotifyStates(ctx context.Context, states []NotifyState) ([]int64, error)
}

// Processes records the process groups of running local tasks, so a
// restart after a crash can stop what the dead engine left behind.
type Processes interface {
	RecordProcess(ctx context.Context, p TaskProcess) error
	ClearProcess(ctx context.Context, runID int64, task string, attempt int) error
	// RunningProcesses lists the groups of attempts of runs still running.
	RunningProcesses(ctx context.Context) ([]TaskProcess, error)
	RunProcesses(ctx context.Context, runID int64) ([]TaskProcess, error)
}

var _ Interface = (*Store)(nil)

// Operator is what the operator's actions (issue 15) need of a store: the
// audit log, marks, paused DAGs — and CreateRun honouring NewRun.RerunOf,
// Skip and ReuseBatch.
type Operator interface {
	// RecordAudit appends e, dated e.At.
	RecordAudit(ctx context.Context, e api.AuditEntry) (int64, error)
	// AuditLog lists entries at or after q.Since, newest first.
	AuditLog(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error)
	// Mark sets a finished run's state (task "") or appends a task attempt
	// in state; it reports false when that already was the state.
	// api.ErrConflict for a run not finished, ErrNotFound, ErrNoTask.
	Mark(ctx context.Context, runID int64, task string, state api.RunState, note string, at time.Time) (bool, error)
	// PauseDAG reports false when the DAG was paused already (the first
	// pause stands).
	PauseDAG(ctx context.Context, dag string, p api.DAGPause) (bool, error)
	UnpauseDAG(ctx context.Context, dag string) (bool, error)
	PausedDAGs(ctx context.Context) (map[string]api.DAGPause, error)
}

// Versions keeps each DAG's versions (the distinct contents of its file
// that loaded) and the pins that make the engine run one of them.
type Versions interface {
	// RecordDAGVersions returns, for each v, the version of v.DAG whose
	// SHA-256 is v.SHA256 — stored already (its last-seen time moved to
	// v.LastSeen) or new, numbered after the newest (Created). Beyond keep
	// versions the least recently seen go, never the pinned one nor one a
	// queued or running run still runs. One call
	// is one transaction (or a few, for thousands): an engine starting on
	// 10,000 DAGs records them at once.
	RecordDAGVersions(ctx context.Context, vs []api.DAGVersion, keep int) ([]Recorded, error)
	// DAGVersions lists a DAG's versions without content, newest first.
	DAGVersions(ctx context.Context, dag string) ([]api.DAGVersion, error)
	// DAGVersion returns one version with its content; ErrVersionNotFound.
	DAGVersion(ctx context.Context, dag string, version int) (api.DAGVersion, error)
	// PinDAG pins a stored version (ErrVersionNotFound otherwise); it reports
	// false when the DAG was pinned to that version already.
	PinDAG(ctx context.Context, dag string, p api.DAGPin) (bool, error)
	UnpinDAG(ctx context.Context, dag string) (bool, error)
	PinnedDAGs(ctx context.Context) (map[string]api.DAGPin, error)
}

// Recorded is what RecordDAGVersions did with one version.
type Recorded struct {
	Version int
	Created bool
}

// Backfills keeps backfills: a DAG's fire times in a range, queued as runs
// as room allows, watched and cancelled as one.
type Backfills interface {
	// CreateBackfill stores b (its DAG, range, reprocess, max active,
	// author, creation time) with its fire times, in order, and queues the
	// first of them as runs queued at b.CreatedAt in the same transaction
	// (FeedBackfill); it returns b's id.
	CreateBackfill(ctx context.Context, b api.Backfill, fires []time.Time) (int64, error)
	// FeedBackfill queues the next fire times of a running backfill as
	// runs queued at now — external runs with their scheduled_for and a
	// run config carrying the logical time — as many as its max active
	// leaves room for (all when 0). It reports how many.
	FeedBackfill(ctx context.Context, id int64, now time.Time) (int, error)
	// Backfill returns one backfill with its progress; ErrNotFound.
	Backfill(ctx context.Context, id int64) (api.Backfill, error)
	// Backfills lists backfills with their progress, newest first.
	Backfills(ctx context.Context) ([]api.Backfill, error)
	// CancelBackfill stops a backfill queueing and returns its runs still
	// queued or running, for the caller to cancel.
	CancelBackfill(ctx context.Context, id int64) ([]int64, error)
	// ScheduledRuns returns, per fire time (Unix nanoseconds) of dag in
	// [from, to], the run that best answers it: a succeeded one, else the
	// newest.
	ScheduledRuns(ctx context.Context, dag string, from, to time.Time) (map[int64]ScheduledRun, error)
}

// ScheduledRun is a run answering a fire time.
type ScheduledRun struct {
	ID    int64
	State api.RunState
}
