package api

import "time"

// Reprocess says which fire times a backfill runs again.
const (
	// ReprocessFailed (the default) skips fire times that already
	// succeeded.
	ReprocessFailed = "failed"
	// ReprocessNone skips fire times that have any run.
	ReprocessNone = "none"
	// ReprocessAll skips nothing.
	ReprocessAll = "all"
)

// BackfillRequest asks for one run of a scheduled DAG per fire time of its
// schedule in [From, To].
type BackfillRequest struct {
	DAG       string
	From, To  time.Time
	DryRun    bool
	MaxActive int    // runs of the backfill queued or running at once; 0: no bound
	Reprocess string // ReprocessFailed when empty
}

// BackfillPlan is what a backfill runs and skips; Backfill is zero for a
// dry run.
type BackfillPlan struct {
	Backfill Backfill      `json:"backfill"`
	Fires    []time.Time   `json:"fires"`
	Skipped  []SkippedFire `json:"skipped"`
}

// SkippedFire is a fire time a backfill does not run, and why.
type SkippedFire struct {
	At     time.Time `json:"at"`
	Run    int64     `json:"run"`    // the run that answered it
	Reason string    `json:"reason"` // "succeeded in #12"
}

// Backfill is one backfill with its progress: its runs by state, and the
// fire times not queued yet (MaxActive holds them back).
type Backfill struct {
	ID        int64     `json:"id"`
	DAG       string    `json:"dag"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Reprocess string    `json:"reprocess"`
	MaxActive int       `json:"max_active"`
	// DAGVersion is the version of the DAG its runs run (0: unknown).
	DAGVersion int       `json:"dag_version,omitempty"`
	State      string    `json:"state"` // running, done, cancelled
	By         string    `json:"by"`
	CreatedAt  time.Time `json:"created_at"`
	Total      int       `json:"total"`
	Pending    int       `json:"pending"` // not queued yet
	Queued     int       `json:"queued"`
	Running    int       `json:"running"`
	Succeeded  int       `json:"succeeded"`
	Failed     int       `json:"failed"`
	Cancelled  int       `json:"cancelled"`
}

// Backfill states.
const (
	BackfillRunning   = "running"
	BackfillDone      = "done"
	BackfillCancelled = "cancelled"
)

// LogicalTimeKey is the run config key a backfill run carries its fire time
// in (RFC 3339).
const LogicalTimeKey = "logical_time"
