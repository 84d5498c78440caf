package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
)

// A reset that allows reprocessing releases the batches from its offset
// on: the high water falls back, the same offsets are stored again as a new
// batch (not a duplicate, not an overlap), the old runs keep theirs, and
// batches before the offset and other DAGs' stay counted.
func testReleaseBatches(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	batch := func(dag string, first, last int64) *store.Batch {
		return &store.Batch{Topic: "t", Partition: 0, FirstOffset: first, LastOffset: last, Messages: []byte("m\n")}
	}
	var runs []int64
	for _, r := range [][2]int64{{0, 9}, {10, 24}, {25, 30}} {
		id, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSensor, Batch: batch("d", r[0], r[1])})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, id)
	}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "other", Trigger: store.TriggerSensor, Batch: batch("other", 0, 30)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.ReleaseBatches(ctx, "d", "t", 0, 12, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("ReleaseBatches = %d, %v; want the 2 batches reaching offset 12", n, err)
	}
	if n, err := s.ReleaseBatches(ctx, "d", "t", 0, 12, time.Now()); err != nil || n != 0 {
		t.Fatalf("second ReleaseBatches = %d, %v; want 0", n, err)
	}
	if last, ok, err := s.BatchHighWater(ctx, "d", "t", 0); err != nil || !ok || last != 9 {
		t.Fatalf("high water after the release = %d %v %v, want 9", last, ok, err)
	}
	if last, ok, err := s.BatchHighWater(ctx, "other", "t", 0); err != nil || !ok || last != 30 {
		t.Fatalf("another DAG's high water = %d %v %v, want 30", last, ok, err)
	}
	// The same range again is a new batch, and a range across the released
	// ones' boundaries is no overlap.
	again, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSensor, Batch: batch("d", 10, 24)})
	if err != nil || again == runs[1] {
		t.Fatalf("storing a released range again = run %d, %v", again, err)
	}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSensor, Batch: batch("d", 25, 40)}); err != nil {
		t.Fatalf("storing across a released batch: %v", err)
	}
	// Live batches keep their key.
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSensor, Batch: batch("d", 10, 24)}); !errors.Is(err, store.ErrDuplicateBatch) {
		t.Fatalf("the new batch stored twice: %v", err)
	}
	old, err := s.Run(ctx, runs[1])
	if err != nil || old.Batch != "t/0/10-24" || old.BatchID == 0 {
		t.Fatalf("the released batch's run = %+v, %v", old, err)
	}
	if msgs, err := s.BatchMessages(ctx, old.BatchID); err != nil || string(msgs) != "m\n" {
		t.Fatalf("the released batch's messages = %q, %v", msgs, err)
	}
}
