package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

func hourly(from time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(i) * time.Hour)
	}
	return out
}

func testBackfillFedUnderMaxActiveAndCancelled(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	fires := hourly(from, 5)
	// The caller's clock dates the backfill and the runs it queues, far
	// from the wall clock's now.
	created, fed := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC), time.Date(2031, 3, 4, 6, 0, 0, 0, time.UTC)
	id, err := s.CreateBackfill(ctx, api.Backfill{DAG: "etl", From: from, To: fires[4], Reprocess: api.ReprocessFailed,
		MaxActive: 2, By: "olga", CreatedAt: created}, fires)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Backfill(ctx, id)
	if err != nil || b.Total != 5 || b.Queued != 2 || b.Pending != 3 || b.State != api.BackfillRunning || b.By != "olga" ||
		!b.From.Equal(from) || b.MaxActive != 2 || !b.CreatedAt.Equal(created) {
		t.Fatalf("backfill = %+v, %v", b, err)
	}
	runs, err := s.ClaimExternal(ctx)
	if err != nil || len(runs) != 2 {
		t.Fatalf("queued runs = %+v, %v", runs, err)
	}
	for _, r := range runs {
		if !r.QueuedAt.Equal(created) {
			t.Errorf("run %d of the new backfill queued at %v, want its creation time %v", r.ID, r.QueuedAt, created)
		}
	}
	r := runs[0]
	var cfg map[string]string
	if err := json.Unmarshal(r.Config, &cfg); err != nil || cfg[api.LogicalTimeKey] != "2024-05-01T00:00:00Z" ||
		!r.ScheduledFor.Equal(fires[0]) || r.BackfillID != id || r.Trigger != store.TriggerBackfill {
		t.Fatalf("first run = %+v (config %s)", r, r.Config)
	}
	// No room until one finishes.
	if n, err := s.FeedBackfill(ctx, id, fed); err != nil || n != 0 {
		t.Fatalf("feed with no room = %d, %v", n, err)
	}
	if err := s.StartRun(ctx, r.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, r.ID, api.RunSuccess, "", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FeedBackfill(ctx, id, fed); err != nil || n != 1 {
		t.Fatalf("feed after a run finished = %d, %v", n, err)
	}
	if more, err := s.ClaimExternal(ctx); err != nil || len(more) != 1 || !more[0].QueuedAt.Equal(fed) {
		t.Fatalf("the fed run = %+v, %v; want one queued at %v", more, err, fed)
	}
	b, _ = s.Backfill(ctx, id)
	if b.Succeeded != 1 || b.Queued != 2 || b.Pending != 2 {
		t.Fatalf("progress = %+v", b)
	}
	active, err := s.CancelBackfill(ctx, id)
	if err != nil || len(active) != 2 {
		t.Fatalf("cancel = %v, %v", active, err)
	}
	if n, err := s.FeedBackfill(ctx, id, fed); err != nil || n != 0 {
		t.Fatalf("feed after cancel = %d, %v", n, err)
	}
	if b, _ := s.Backfill(ctx, id); b.State != api.BackfillCancelled || b.Pending != 0 {
		t.Fatalf("cancelled = %+v", b)
	}
	if _, err := s.CancelBackfill(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelling no backfill: %v", err)
	}
	if _, err := s.Backfill(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no backfill: %v", err)
	}
}

func testBackfillUnboundedQueuesAllAndIsDone(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	id, err := s.CreateBackfill(ctx, api.Backfill{DAG: "etl", From: from, To: from.Add(2 * time.Hour), Reprocess: api.ReprocessAll}, hourly(from, 3))
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := s.ClaimExternal(ctx)
	if len(runs) != 3 {
		t.Fatalf("queued %d runs, want 3", len(runs))
	}
	for _, r := range runs {
		state := api.RunSuccess
		if r.ScheduledFor.Equal(from.Add(time.Hour)) {
			state = api.RunFailed
		}
		if err := s.FinishRun(ctx, r.ID, state, "", time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	bs, err := s.Backfills(ctx)
	if err != nil || len(bs) != 1 || bs[0].ID != id || bs[0].State != api.BackfillDone || bs[0].Succeeded != 2 || bs[0].Failed != 1 {
		t.Fatalf("backfills = %+v, %v", bs, err)
	}
	// A later success answers the failed hour; a success is kept over a
	// newer failure.
	again, _ := s.CreateRun(ctx, store.NewRun{DAG: "etl", ScheduledFor: from.Add(time.Hour)})
	if err := s.FinishRun(ctx, again, api.RunSuccess, "", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	late, _ := s.CreateRun(ctx, store.NewRun{DAG: "etl", ScheduledFor: from})
	if err := s.FinishRun(ctx, late, api.RunFailed, "", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.ScheduledRuns(ctx, "etl", from, from.Add(2*time.Hour))
	if err != nil || len(got) != 3 || got[from.Add(time.Hour).UnixNano()].ID != again || got[from.UnixNano()].State != api.RunSuccess {
		t.Fatalf("scheduled runs = %+v, %v", got, err)
	}
	if got, _ := s.ScheduledRuns(ctx, "etl", from.Add(90*time.Minute), from.Add(3*time.Hour)); len(got) != 1 {
		t.Fatalf("range: %+v", got)
	}
}
