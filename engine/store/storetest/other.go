package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

func testTaskProcesses(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1_700_000_000, 0)
	running, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", QueuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", QueuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, running, t0, store.Attempt{RunID: running, Task: "a", Attempt: 1, State: "running", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	a := store.TaskProcess{RunID: running, Task: "a", Attempt: 1, PGID: 4242, StartTicks: 777}
	b := store.TaskProcess{RunID: running, Task: "b", Attempt: 2, PGID: 4343, StartTicks: 888}
	stale := store.TaskProcess{RunID: queued, Task: "x", Attempt: 1, PGID: 4444, StartTicks: 999}
	for _, p := range []store.TaskProcess{a, b, stale} {
		if err := s.RecordProcess(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RunningProcesses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Only runs marked running can have left processes behind.
	if want := []store.TaskProcess{a, b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("RunningProcesses = %+v, want %+v", got, want)
	}
	if err := s.ClearProcess(ctx, running, "b", 2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.RunningProcesses(ctx)
	if want := []store.TaskProcess{a}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after clearing b: %+v, want %+v", got, want)
	}
	if _, err := s.Recover(ctx, t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.RunProcesses(ctx, running); err != nil || len(ps) != 0 {
		t.Fatalf("process rows of the recovered run: %+v, %v; want none", ps, err)
	}
	if ps, err := s.RunProcesses(ctx, queued); err != nil || !reflect.DeepEqual(ps, []store.TaskProcess{stale}) {
		t.Fatalf("process rows of the queued run: %+v, %v; want %+v", ps, err, stale)
	}
}

func testTicks(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1_700_000_000, 5)
	var last int64
	for i := range store.TicksKept + 150 {
		id, err := s.RecordTick(ctx, store.Tick{DAG: "d", Sensor: 0, Member: i % 2, Start: t0.Add(time.Duration(i) * time.Second),
			Duration: time.Duration(i) * time.Millisecond, Batches: i, Messages: 10 * i, Skipped: "backpressure", Error: ""})
		if err != nil {
			t.Fatal(err)
		}
		if id <= last {
			t.Fatalf("tick id %d after %d", id, last)
		}
		last = id
	}
	ranges := []api.TickRange{{Topic: "events", Partition: 2, First: 100, Last: 199, Run: 41}, {Topic: "events", Partition: 0, First: 7, Last: 7, Run: 42}}
	other, err := s.RecordTick(ctx, store.Tick{DAG: "d", Sensor: 1, Start: t0, Error: "broker down", Ranges: ranges})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentTicks(ctx, "d", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	n := store.TicksKept + 149
	if len(got) != 3 || got[0].ID != last || got[0].Batches != n || got[0].Messages != 10*n || got[0].Member != n%2 ||
		!got[0].Start.Equal(t0.Add(time.Duration(n)*time.Second)) || got[0].Duration != time.Duration(n)*time.Millisecond ||
		got[0].Skipped != "backpressure" || got[1].ID >= got[0].ID {
		t.Fatalf("recent ticks = %+v", got)
	}
	all, _ := s.RecentTicks(ctx, "d", 0, 10*store.TicksKept)
	// Pruned now and then: never fewer than kept, never without bound.
	if len(all) < store.TicksKept || len(all) >= store.TicksKept+150 {
		t.Fatalf("%d ticks kept of %d, want pruning to about %d", len(all), store.TicksKept+150, store.TicksKept)
	}
	if o, _ := s.RecentTicks(ctx, "d", 1, 10); len(o) != 1 || o[0].ID != other || o[0].Error != "broker down" || !slices.Equal(o[0].Ranges, ranges) {
		t.Fatalf("ticks of sensor 1 = %+v", o)
	}
}

func testBatchHighWater(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	if _, ok, err := s.BatchHighWater(ctx, "d", "t", 0); err != nil || ok {
		t.Fatalf("empty store: ok %v err %v", ok, err)
	}
	for _, r := range [][2]int64{{0, 9}, {10, 24}, {25, 30}} {
		b := &store.Batch{Topic: "t", Partition: 0, FirstOffset: r[0], LastOffset: r[1], Messages: []byte("m\n")}
		if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSensor, Batch: b}); err != nil {
			t.Fatal(err)
		}
	}
	b := &store.Batch{Topic: "t", Partition: 1, FirstOffset: 0, LastOffset: 99, Messages: []byte("m\n")}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "other", Trigger: store.TriggerSensor, Batch: b}); err != nil {
		t.Fatal(err)
	}
	if last, ok, err := s.BatchHighWater(ctx, "d", "t", 0); err != nil || !ok || last != 30 {
		t.Fatalf("high water of d t/0 = %d %v %v, want 30", last, ok, err)
	}
	// Another DAG's batches do not count.
	if _, ok, _ := s.BatchHighWater(ctx, "d", "t", 1); ok {
		t.Fatal("d's high water on t/1 came from another DAG's batch")
	}
}

func testReviewVersionCheck(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1_700_000_000, 42)
	r := &store.ReviewRecord{Kind: "deprecate", State: "staged", Branch: "sluice/x", Fingerprint: "fp", Data: []byte(`{"Title":"x"}`),
		Diff: "--- a\n+++ b\n", CreatedAt: t0, UpdatedAt: t0, History: []store.ReviewEvent{{At: t0, State: "staged", Note: "proposed"}}}
	if err := s.CreateReview(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.Version != 1 {
		t.Fatalf("created %+v", r)
	}
	stale := *r
	r.State, r.UpdatedAt = "approved", t0.Add(time.Second)
	if err := s.UpdateReview(ctx, r, store.ReviewEvent{At: t0.Add(time.Second), State: "approved", Note: "by ana"}); err != nil {
		t.Fatal(err)
	}
	if r.Version != 2 {
		t.Fatalf("version after update = %d", r.Version)
	}
	stale.State = "rejected"
	if err := s.UpdateReview(ctx, &stale, store.ReviewEvent{At: t0, State: "rejected"}); !errors.Is(err, store.ErrReviewConflict) {
		t.Fatalf("stale update: %v, want ErrReviewConflict", err)
	}
	missing := &store.ReviewRecord{ID: r.ID + 100, Version: 1, Data: []byte("{}")}
	if err := s.UpdateReview(ctx, missing, store.ReviewEvent{At: t0}); !errors.Is(err, store.ErrReviewNotFound) {
		t.Fatalf("update of a missing item: %v", err)
	}
	if _, err := s.Review(ctx, r.ID+100); !errors.Is(err, store.ErrReviewNotFound) {
		t.Fatalf("missing item: %v", err)
	}
	got, err := s.Review(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "approved" || got.Version != 2 || string(got.Data) != `{"Title":"x"}` || got.Diff != r.Diff ||
		got.Branch != "sluice/x" || got.Fingerprint != "fp" || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Second)) ||
		len(got.History) != 2 || got.History[1].Note != "by ana" || !got.History[0].At.Equal(t0) {
		t.Fatalf("review = %+v", got)
	}
	second := &store.ReviewRecord{Kind: "archive", State: "staged", Data: []byte("{}"), CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateReview(ctx, second); err != nil {
		t.Fatal(err)
	}
	all, err := s.Reviews(ctx)
	if err != nil || len(all) != 2 || all[0].ID != second.ID || len(all[1].History) != 2 || len(all[0].History) != 0 {
		t.Fatalf("reviews = %+v, %v", all, err)
	}
}

// Two consoles acting on one item at once: exactly one update wins.
func testConcurrentReviewUpdates(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Now()
	r := &store.ReviewRecord{Kind: "deprecate", State: "staged", Data: []byte("{}"), CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateReview(ctx, r); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := *r
			mine.State = "approved"
			err := s.UpdateReview(ctx, &mine, store.ReviewEvent{At: t0, State: "approved"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrReviewConflict):
				conflicts++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Review(ctx, r.ID)
	if wins != 1 || conflicts != n-1 || got.Version != 2 || len(got.History) != 1 {
		t.Fatalf("wins %d conflicts %d version %d history %d; want 1, %d, 2, 1", wins, conflicts, got.Version, len(got.History), n-1)
	}
}
