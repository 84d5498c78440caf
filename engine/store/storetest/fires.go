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

// A batch that shares offsets with another batch of the DAG, cut at other
// boundaries (two instances' replicas around a rebalance), is refused;
// the exact range is a duplicate; another DAG is unaffected.
func testBatchOverlapRefused(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	batch := func(first, last int64) *store.Batch {
		return &store.Batch{Topic: "t", Partition: 1, FirstOffset: first, LastOffset: last, Messages: []byte("{}\n")}
	}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Batch: batch(100, 199)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{150, 250}, {50, 100}, {120, 130}, {0, 500}, {199, 199}} {
		if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Batch: batch(r[0], r[1])}); !errors.Is(err, store.ErrBatchOverlap) {
			t.Fatalf("batch %d-%d over 100-199: %v; want ErrBatchOverlap", r[0], r[1], err)
		}
	}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Batch: batch(100, 199)}); !errors.Is(err, store.ErrDuplicateBatch) {
		t.Fatalf("the same range again: %v; want ErrDuplicateBatch", err)
	}
	for _, r := range [][2]int64{{200, 299}, {0, 99}} {
		if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Batch: batch(r[0], r[1])}); err != nil {
			t.Fatalf("adjacent batch %d-%d: %v", r[0], r[1], err)
		}
	}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "e", Batch: batch(150, 250)}); err != nil {
		t.Fatalf("another DAG's batch: %v", err)
	}
	if hw, ok, err := s.BatchHighWater(ctx, "d", "t", 1); err != nil || !ok || hw != 299 {
		t.Fatalf("high water %d %v %v", hw, ok, err)
	}
	if n, _ := s.QueuedCount(ctx, "d"); n != 3 {
		t.Fatalf("%d runs of d, want 3", n)
	}
}

// Two instances persist overlapping batches at once: the stored batches
// never share an offset, and every refused one overlaps a stored one.
func testConcurrentOverlappingBatches(t *testing.T, h harness) {
	ctx := context.Background()
	a, place := h.openPlace(t)
	b := h.reopen(t, place)
	const n = 24
	var mu sync.Mutex
	var stored, refused [][2]int64
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		first := int64(i * 5)
		wg.Go(func() {
			_, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Batch: &store.Batch{Topic: "t", Partition: 0,
				FirstOffset: first, LastOffset: first + 9, Messages: []byte("{}\n")}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored = append(stored, [2]int64{first, first + 9})
			case errors.Is(err, store.ErrBatchOverlap):
				refused = append(refused, [2]int64{first, first + 9})
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	overlaps := func(x, y [2]int64) bool { return x[0] <= y[1] && y[0] <= x[1] }
	for i := range stored {
		for j := i + 1; j < len(stored); j++ {
			if overlaps(stored[i], stored[j]) {
				t.Fatalf("stored batches %v and %v share offsets", stored[i], stored[j])
			}
		}
	}
	for _, r := range refused {
		hit := false
		for _, s := range stored {
			hit = hit || overlaps(r, s)
		}
		if !hit {
			t.Fatalf("batch %v was refused but overlaps nothing stored (stored %v)", r, stored)
		}
	}
	if len(stored)+len(refused) != n || len(stored) == 0 {
		t.Fatalf("%d stored, %d refused of %d", len(stored), len(refused), n)
	}
}
