package sensor

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/engine/store"
)

// StoreSink adapts the engine's store to RunSink and TickStore.
type StoreSink struct {
	Store store.Interface
	// CreateRun creates a run; nil means Store.CreateRun. The engine passes
	// its run queue's creator here so a sensor run enters the in-memory
	// queue the moment it is persisted. It must return store.ErrDuplicateBatch
	// (wrapped or not) for a batch already stored.
	CreateRun func(ctx context.Context, nr store.NewRun) (int64, error)
	// Queued counts a DAG's queued runs; nil means Store.QueuedCount (a
	// query). The engine passes its run queue's in-memory count.
	Queued func(dag string) int
}

var (
	_ RunSink   = (*StoreSink)(nil)
	_ TickStore = (*StoreSink)(nil)
)

// EnqueueBatch implements RunSink.
func (s *StoreSink) EnqueueBatch(ctx context.Context, dag string, b *Batch) (int64, bool, error) {
	create := s.CreateRun
	if create == nil {
		create = s.Store.CreateRun
	}
	id, err := create(ctx, store.NewRun{
		DAG:     dag,
		Trigger: store.TriggerSensor,
		Batch: &store.Batch{Topic: b.Topic, Partition: b.Partition, FirstOffset: b.First, LastOffset: b.Last,
			Messages: b.JSONLines()},
	})
	if errors.Is(err, store.ErrDuplicateBatch) {
		// The store keys batches by range alone; only a run of this DAG
		// makes this one a duplicate.
		run, rerr := s.Store.Run(ctx, id)
		if rerr != nil {
			return 0, false, fmt.Errorf("checking the run that holds batch %s: %w", b.Key(), rerr)
		}
		if run.DAG != dag {
			return 0, false, fmt.Errorf("%w: %s is in run %d of %q", ErrBatchConflict, b.Key(), id, run.DAG)
		}
		return id, true, nil
	}
	return id, false, err
}

// PersistedThrough implements RunSink.
func (s *StoreSink) PersistedThrough(ctx context.Context, dag, topic string, partition int32) (int64, bool, error) {
	return s.Store.BatchHighWater(ctx, dag, topic, partition)
}

// QueuedCount implements RunSink.
func (s *StoreSink) QueuedCount(ctx context.Context, dag string) (int, error) {
	if s.Queued != nil {
		return s.Queued(dag), nil
	}
	return s.Store.QueuedCount(ctx, dag)
}

// RecordTick implements TickStore.
func (s *StoreSink) RecordTick(ctx context.Context, t TickRecord) (int64, error) {
	return s.Store.RecordTick(ctx, store.Tick{DAG: t.DAG, Sensor: t.Sensor, Member: t.Member, Start: t.Start,
		Duration: t.Duration, Batches: t.Batches, Messages: t.Messages, Skipped: t.Skipped, Error: t.Error, Ranges: t.Ranges})
}

// RecentTicks implements TickStore.
func (s *StoreSink) RecentTicks(ctx context.Context, dag string, sensor, limit int) ([]TickRecord, error) {
	ts, err := s.Store.RecentTicks(ctx, dag, sensor, limit)
	if err != nil {
		return nil, err
	}
	out := make([]TickRecord, len(ts))
	for i, t := range ts {
		out[i] = TickRecord{ID: t.ID, DAG: t.DAG, Sensor: t.Sensor, Member: t.Member, Start: t.Start,
			Duration: t.Duration, Batches: t.Batches, Messages: t.Messages, Skipped: t.Skipped, Error: t.Error, Ranges: t.Ranges}
	}
	return out, nil
}
