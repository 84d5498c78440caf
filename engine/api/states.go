package api

// The states below are the only definition of each word: the store, the
// engine and the views use these constants.

// RunState is where a run stands.
type RunState string

// Run states.
const (
	RunQueued    RunState = "queued"
	RunRunning   RunState = "running"
	RunSuccess   RunState = "success"
	RunFailed    RunState = "failed"
	RunCancelled RunState = "cancelled"
)

// Finished reports whether the run reached a final state.
func (s RunState) Finished() bool {
	return s == RunSuccess || s == RunFailed || s == RunCancelled
}

// TaskState is where one task of a run stands: the run states' words plus
// pending, retrying, upstream_failed and skipped.
type TaskState string

// Task states.
const (
	TaskPending        TaskState = "pending"
	TaskQueued         TaskState = TaskState(RunQueued)
	TaskRunning        TaskState = TaskState(RunRunning)
	TaskRetrying       TaskState = "retrying"
	TaskSuccess        TaskState = TaskState(RunSuccess)
	TaskFailed         TaskState = TaskState(RunFailed)
	TaskCancelled      TaskState = TaskState(RunCancelled)
	TaskUpstreamFailed TaskState = "upstream_failed"
	TaskSkipped        TaskState = "skipped"
)

// DAGStatus is the status of one entry of the DAG registry.
type DAGStatus string

// DAG statuses.
const (
	DAGActive   DAGStatus = "active"
	DAGInvalid  DAGStatus = "invalid"  // the file is bad; Def is the last good version, if any
	DAGDisabled DAGStatus = "disabled" // file deleted or enabled: false
	DAGConflict DAGStatus = "conflict" // another file holds the name
)

// SensorStatus is the status of one Kafka sensor.
type SensorStatus string

// Sensor statuses.
const (
	SensorRunning      SensorStatus = "running"
	SensorPaused       SensorStatus = "paused"
	SensorBackpressure SensorStatus = "backpressure"
	SensorError        SensorStatus = "error"
)

// LagStatus is a consumer lag status, Burrow's names. A partition gets any
// of them; a group gets OK, WARN or ERR (any partition STOP, STALL or ERR
// makes the group ERR, as in Burrow), or ERR when its offsets cannot be
// read at all.
type LagStatus string

// Lag statuses.
const (
	LagOK    LagStatus = "OK"
	LagWarn  LagStatus = "WARN"
	LagStall LagStatus = "STALL"
	LagStop  LagStatus = "STOP"
	LagErr   LagStatus = "ERR"
)

// ReviewState is where a review item stands.
type ReviewState string

// Review item states.
const (
	ReviewStaged   ReviewState = "staged"   // waiting for a human
	ReviewApproved ReviewState = "approved" // approval under way
	ReviewPushed   ReviewState = "pushed"   // branch pushed, no pull request (none configured)
	ReviewPROpen   ReviewState = "pr-open"  // pull request opened
	ReviewArchived ReviewState = "archived" // every report archived
	ReviewRejected ReviewState = "rejected" // declined (or withdrawn by a later run)
	ReviewFailed   ReviewState = "failed"   // a step after the point of no return failed; Approve retries
	// ReviewBlocked: the branch would break the dbt project (a dangling
	// ref(), a YAML file that no longer parses); it cannot be approved.
	ReviewBlocked ReviewState = "blocked"
	// ReviewMerged and ReviewDeclined follow the pull request: merged, or
	// closed unmerged (a reviewer declined; its models are not proposed
	// again until the reconsider period ends).
	ReviewMerged   ReviewState = "merged"
	ReviewDeclined ReviewState = "declined"
	// ReviewDeleted: every report of a second-phase item deleted.
	ReviewDeleted ReviewState = "deleted"
)
