package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
)

// Every instance's scheduler fires every schedule: the store lets one run
// per (DAG, fire time) in and names it to the others.
func testDuplicateFireReturnsExistingRun(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	fire := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	id, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSchedule, ScheduledFor: fire})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSchedule, ScheduledFor: fire})
	if !errors.Is(err, store.ErrDuplicateFire) || again != id {
		t.Fatalf("second run of one fire: id %d err %v; want %d and ErrDuplicateFire", again, err, id)
	}
	// Another DAG at the same time, the next fire, and a manual run are
	// runs of their own.
	for _, nr := range []store.NewRun{
		{DAG: "e", Trigger: store.TriggerSchedule, ScheduledFor: fire},
		{DAG: "d", Trigger: store.TriggerSchedule, ScheduledFor: fire.Add(time.Second)},
		{DAG: "d"},
	} {
		if _, err := s.CreateRun(ctx, nr); err != nil {
			t.Fatalf("%+v: %v", nr, err)
		}
	}
	runs, _ := s.ListRuns(ctx, store.ListOptions{})
	if len(runs) != 4 {
		t.Fatalf("%d runs, want 4 (none for the duplicate fire)", len(runs))
	}
}

// Two handles on one place (two instances) insert the same fires at once:
// each fire gets exactly one run, and every loser is told its id.
func testConcurrentFiresOneRunEach(t *testing.T, h harness) {
	ctx := context.Background()
	a, place := h.openPlace(t)
	b := h.reopen(t, place)
	base := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	const fires, racers = 20, 6
	var mu sync.Mutex
	won := map[time.Time][]int64{}
	told := map[time.Time][]int64{}
	var wg sync.WaitGroup
	for r := range racers {
		s := a
		if r%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for f := range fires {
				fire := base.Add(time.Duration(f) * time.Second)
				id, err := s.CreateRun(ctx, store.NewRun{DAG: "tick", Trigger: store.TriggerSchedule, ScheduledFor: fire})
				mu.Lock()
				switch {
				case err == nil:
					won[fire] = append(won[fire], id)
				case errors.Is(err, store.ErrDuplicateFire):
					told[fire] = append(told[fire], id)
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for f := range fires {
		fire := base.Add(time.Duration(f) * time.Second)
		if len(won[fire]) != 1 || len(told[fire]) != racers-1 {
			t.Fatalf("fire %s: %d runs created, %d told; want 1 and %d", fire, len(won[fire]), len(told[fire]), racers-1)
		}
		for _, id := range told[fire] {
			if id != won[fire][0] {
				t.Fatalf("fire %s: a loser was told run %d, the run is %d", fire, id, won[fire][0])
			}
		}
	}
	if n, _ := a.QueuedCount(ctx, "tick"); n != fires {
		t.Fatalf("%d queued runs, want %d", n, fires)
	}
	last, _ := b.LastFires(ctx)
	if want := base.Add((fires - 1) * time.Second); !last["tick"].Equal(want) {
		t.Fatalf("last fire %v, want %v", last["tick"], want)
	}
}

// A batch is unique per DAG: two DAGs reading one topic each run it once.
func testBatchUniquePerDAG(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	b := &store.Batch{Topic: "events", Partition: 0, FirstOffset: 0, LastOffset: 9, Messages: []byte("{}\n")}
	ids := map[string]int64{}
	for _, d := range []string{"load", "audit"} {
		id, err := s.CreateRun(ctx, store.NewRun{DAG: d, Trigger: store.TriggerSensor, Batch: b})
		if err != nil {
			t.Fatalf("batch for %s: %v", d, err)
		}
		ids[d] = id
	}
	for _, d := range []string{"load", "audit"} {
		again, err := s.CreateRun(ctx, store.NewRun{DAG: d, Trigger: store.TriggerSensor, Batch: b})
		if !errors.Is(err, store.ErrDuplicateBatch) || again != ids[d] {
			t.Fatalf("re-delivered batch of %s: id %d err %v; want %d and ErrDuplicateBatch", d, again, err, ids[d])
		}
		if hw, ok, err := s.BatchHighWater(ctx, d, "events", 0); err != nil || !ok || hw != 9 {
			t.Fatalf("high water of %s = %d %v %v", d, hw, ok, err)
		}
	}
}
