package api

import (
	"context"
	"time"
)

// SensorOperations are the operator's hands on Kafka micro-batches: replay
// a stored batch, and move a sensor's consumer group.
type SensorOperations interface {
	// ReplayBatch queues a new run of a finished sensor run's DAG carrying
	// the same stored batch, linked to it (rerun_of): nothing is read from
	// Kafka again and no offset moves. While a replay (or re-run) of the
	// run is queued or running, the run it queued is returned with
	// nothing new queued.
	ReplayBatch(ctx context.Context, run int64, reason string) (int64, error)
	// ResetOffsets moves a paused sensor's consumer group to new offsets
	// (or, with DryRun, only says where it would move them).
	ResetOffsets(ctx context.Context, req ResetOffsetsRequest) (ResetOffsetsPlan, error)
}

// OffsetTarget is where ResetOffsets moves a group.
type OffsetTarget string

// Offset targets.
const (
	ToEarliest OffsetTarget = "earliest" // the oldest offset the log keeps
	ToLatest   OffsetTarget = "latest"   // the log end: nothing left to read
	ToTime     OffsetTarget = "time"     // the first record at or after Time
	ToOffset   OffsetTarget = "offset"   // Offsets, per partition
)

// ResetOffsetsRequest says which sensor's group to move where.
type ResetOffsetsRequest struct {
	DAG    string
	Sensor int // index of the sensor in the DAG
	To     OffsetTarget
	Time   time.Time       // with ToTime
	Offset map[int32]int64 // with ToOffset: partition → offset (every topic of the sensor)
	// DryRun plans without committing anything.
	DryRun bool
	// AllowReprocess lets the sensor put records that runs already carry
	// into new runs; without it they are trimmed as after a crash, so a
	// reset backwards re-reads them without doubling them.
	AllowReprocess bool
	Reason         string
}

// ResetOffsetsPlan is what a reset did (or, dry, would do).
type ResetOffsetsPlan struct {
	DAG        string         `json:"dag"`
	Sensor     int            `json:"sensor"`
	Group      string         `json:"group"`
	Partitions []OffsetChange `json:"partitions"`
	DryRun     bool           `json:"dry_run"`
	// Released counts the stored batches AllowReprocess let go of.
	Released int `json:"released,omitempty"`
}

// OffsetChange is one partition of a reset.
type OffsetChange struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Current is the committed offset, -1 when the group never committed.
	Current int64 `json:"current"`
	New     int64 `json:"new"`
	// Reread counts the records between New and where the group would
	// resume (Current, or the log start for a group that never committed);
	// Skipped those a reset forward leaves unread.
	Reread  int64 `json:"reread"`
	Skipped int64 `json:"skipped"`
	// Carried counts the records of Reread that runs already carry: they
	// are trimmed when read again, unless the reset allows reprocessing.
	Carried int64 `json:"carried"`
}

// Totals sums the partitions' re-read, skipped and carried records.
func (p ResetOffsetsPlan) Totals() (reread, skipped, carried int64) {
	for _, c := range p.Partitions {
		reread += c.Reread
		skipped += c.Skipped
		carried += c.Carried
	}
	return reread, skipped, carried
}
