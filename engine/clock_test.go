package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/store"
)

// TestRecordedTimesComeFromTheClock: with the engine's clock stopped far
// from the wall clock's now, every time the engine records or shows — an
// audit entry, a pin, a pause, a backfill and each run it queues (the
// first ones and those fed later), a triggered run, the status and the
// snapshot — carries the clock's time, running and offline alike.
func TestRecordedTimesComeFromTheClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	clk := enginetest.NewClock(at)
	state, dags := t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hourly", `{"schedule": "0 * * * *", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	e, err := New(Config{StateDir: state, Clock: clk, PollInterval: 20 * time.Millisecond,
		Loader: loader.Config{Dir: dags, Enabled: true, ScanInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	ctx := api.WithActor(context.Background(), "olga")
	same := func(what string, got time.Time) {
		t.Helper()
		if !got.Equal(at) {
			t.Errorf("%s at %v, want the clock's %v", what, got, at)
		}
	}

	if err := e.PinDAG(ctx, "hourly", 1); err != nil {
		t.Fatal(err)
	}
	pins, err := e.Store().PinnedDAGs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same("the pin", pins["hourly"].At)

	// Three fires, one at a time: the first is queued with the backfill,
	// the others as the engine feeds it.
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	plan, err := e.Backfill(ctx, api.BackfillRequest{DAG: "hourly", From: from, To: from.Add(2 * time.Hour), Reprocess: api.ReprocessAll, MaxActive: 1})
	if err != nil || plan.Backfill.Total != 3 {
		t.Fatalf("backfill = %+v, %v", plan.Backfill, err)
	}
	same("the backfill", plan.Backfill.CreatedAt)
	var b api.Backfill
	if !enginetest.Poll(20*time.Second, func() bool {
		bs, _ := e.Backfills(ctx)
		if len(bs) == 1 {
			b = bs[0]
		}
		return b.State == api.BackfillDone
	}) {
		t.Fatalf("backfill did not finish: %+v", b)
	}
	runs, err := e.Store().ListRuns(ctx, store.ListOptions{DAG: "hourly"})
	if err != nil || len(runs) != 3 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	for _, r := range runs {
		same(fmt.Sprintf("run %d of the backfill queued", r.ID), r.QueuedAt)
		same(fmt.Sprintf("run %d of the backfill finished", r.ID), r.FinishedAt)
	}

	st, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same("the status", st.At)
	same("the snapshot", e.Snapshot().At)

	// Offline, beside the running engine: a triggered run and a pause.
	off, err := Open(ctx, Options{Offline: true, Config: Config{StateDir: state, Clock: clk}})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	run, err := off.QueueRun(ctx, "hourly", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	same("the run triggered offline, queued", run.QueuedAt)
	if err := off.PauseDAG(ctx, "hourly", true, "upstream late"); err != nil {
		t.Fatal(err)
	}
	paused, err := e.Store().PausedDAGs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same("the pause", paused["hourly"].At)

	log, err := e.AuditLog(ctx, api.AuditQuery{})
	if err != nil || len(log) != 4 {
		t.Fatalf("audit log = %+v, %v; want pin, backfill, trigger, pause", log, err)
	}
	for _, a := range log {
		same("the audit entry for "+a.Action, a.At)
	}
}
