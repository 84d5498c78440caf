package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
)

// Two schedulers on one store (two instances) both fire every schedule:
// each fire gets exactly one run, and neither logs the loser's insert as
// an error.
func TestSchedulersSharingAStoreFireOnceEach(t *testing.T) {
	t.Parallel()
	h := newSchedHarness(t, t0)
	h.dags.add(t, "tick", `{"schedule": "@every 1s", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	a, b := h.scheduler(), h.scheduler()
	const fires = 10
	ctx := context.Background()
	for range fires {
		h.clock.Advance(time.Second)
		var wg sync.WaitGroup
		for _, s := range []*Scheduler{a, b} {
			wg.Go(func() { s.Tick(ctx) })
		}
		wg.Wait()
	}
	runs := h.runs()
	seen := map[time.Time]int{}
	for _, r := range runs {
		seen[r.ScheduledFor.UTC()]++
	}
	for i := 1; i <= fires; i++ {
		fire := t0.Add(time.Duration(i) * time.Second)
		if seen[fire] != 1 {
			t.Fatalf("fire %s has %d runs, want 1 (runs %+v)", fire, seen[fire], runs)
		}
	}
	if len(runs) != fires {
		t.Fatalf("%d runs, want %d", len(runs), fires)
	}
	if log := h.log(); strings.Contains(log, "level=ERROR") {
		t.Fatalf("a lost race was logged as an error:\n%s", log)
	}
	for _, r := range runs {
		if r.Trigger != store.TriggerSchedule {
			t.Fatalf("run %+v: want a scheduled run", r)
		}
	}
}
