package sensor

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// ErrBatchConflict: a run of another DAG already carries this exact range
// of the partition. The sensor then persists a shorter batch.
var ErrBatchConflict = errors.New("batch range held by another dag's run")

// RunSink is the part of the store a sensor writes runs to. It is the only
// boundary between sensors and the run queue; the engine hands in an adapter
// over engine/store (see StoreSink), tests hand in whatever they like.
type RunSink interface {
	// EnqueueBatch persists one queued run of dag carrying b, in one
	// transaction, and returns its id. When a run of dag with the same
	// batch key already exists it returns dup=true and no error: the batch
	// was persisted before and must not run twice. When a run of another
	// DAG holds the key, it returns ErrBatchConflict.
	EnqueueBatch(ctx context.Context, dag string, b *Batch) (runID int64, dup bool, err error)
	// PersistedThrough returns the highest offset of topic/partition already
	// carried by a run of dag (ok=false when none). A batch re-delivered
	// after a crash is cut differently from the one persisted before it;
	// this is how the sensor trims what is already in a run.
	PersistedThrough(ctx context.Context, dag, topic string, partition int32) (last int64, ok bool, err error)
	// QueuedCount is the number of runs of dag waiting in the queue, for
	// backpressure.
	QueuedCount(ctx context.Context, dag string) (int, error)
}

// TickRecord is one sensor tick as the store keeps it.
type TickRecord struct {
	ID       int64
	DAG      string
	Sensor   int // index in the DAG's sensors list
	Member   int // replica that ticked, 0-based
	Start    time.Time
	Duration time.Duration
	Batches  int
	Messages int
	Skipped  string // why the tick stopped pulling (backpressure, paused)
	Error    string
	// Ranges are the batches the tick persisted as new runs.
	Ranges []api.TickRange
}

// TickStore keeps the tick history. Optional: a Manager without one keeps
// ticks in memory only.
type TickStore interface {
	// RecordTick appends a tick and returns its id.
	RecordTick(ctx context.Context, t TickRecord) (int64, error)
	// RecentTicks returns the newest ticks of one sensor, newest first.
	RecentTicks(ctx context.Context, dag string, sensor, limit int) ([]TickRecord, error)
}
