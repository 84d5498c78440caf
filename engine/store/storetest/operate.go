package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// finishedRun stores a run of etl that ended in state with the given task
// rows.
func finishedRun(t *testing.T, s store.Interface, state api.RunState, tasks map[string]api.TaskState) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", Config: []byte(`{"day":"2024-01-01"}`)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.StartRun(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	var rows []store.Attempt
	for task, st := range tasks {
		rows = append(rows, store.Attempt{RunID: id, Task: task, Attempt: 1, State: st, FinishedAt: now})
	}
	if err := s.FinishRun(ctx, id, state, "", now, rows); err != nil {
		t.Fatal(err)
	}
	return id
}

func testAuditLog(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, action := range []string{"trigger", "cancel", "pause"} {
		if _, err := s.RecordAudit(ctx, api.AuditEntry{At: base.Add(time.Duration(i) * time.Hour), Actor: "olga",
			Action: action, Target: "dag etl", Outcome: api.AuditOK, Reason: "why " + action}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.AuditLog(ctx, api.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].Action != "pause" || all[2].Action != "trigger" || all[0].Actor != "olga" ||
		all[0].Reason != "why pause" || !all[0].At.Equal(base.Add(2*time.Hour)) || all[0].ID == all[1].ID {
		t.Fatalf("audit log = %+v", all)
	}
	since, err := s.AuditLog(ctx, api.AuditQuery{Since: base.Add(30 * time.Minute)})
	if err != nil || len(since) != 2 {
		t.Fatalf("since = %+v, %v", since, err)
	}
	one, err := s.AuditLog(ctx, api.AuditQuery{Limit: 1})
	if err != nil || len(one) != 1 || one[0].Action != "pause" {
		t.Fatalf("limit = %+v, %v", one, err)
	}
}

func testMarkRunAndTask(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	id := finishedRun(t, s, api.RunFailed, map[string]api.TaskState{"a": api.TaskSuccess, "b": api.TaskFailed})

	t.Run("run", func(t *testing.T) {
		changed, err := s.Mark(ctx, id, "", api.RunSuccess, "marked success by olga: fixed by hand", time.Now())
		if err != nil || !changed {
			t.Fatalf("Mark = %v, %v", changed, err)
		}
		run, _ := s.Run(ctx, id)
		if run.State != api.RunSuccess || run.Error != "marked success by olga: fixed by hand" {
			t.Fatalf("run = %+v", run)
		}
		// A second console marking the same: nothing changes.
		changed, err = s.Mark(ctx, id, "", api.RunSuccess, "again", time.Now())
		if err != nil || changed {
			t.Fatalf("second Mark = %v, %v", changed, err)
		}
		if run, _ := s.Run(ctx, id); run.Error != "marked success by olga: fixed by hand" {
			t.Fatalf("second mark overwrote the note: %q", run.Error)
		}
	})
	t.Run("task", func(t *testing.T) {
		changed, err := s.Mark(ctx, id, "b", api.RunSuccess, "loaded by hand", time.Now())
		if err != nil || !changed {
			t.Fatalf("Mark task = %v, %v", changed, err)
		}
		tasks, _ := s.Tasks(ctx, id)
		var b store.Attempt
		for _, a := range tasks[id] {
			if a.Task == "b" {
				b = a
			}
		}
		if b.State != api.TaskSuccess || b.Attempt != 2 || b.Error != "loaded by hand" {
			t.Fatalf("task b = %+v", b)
		}
		if changed, err := s.Mark(ctx, id, "b", api.RunSuccess, "again", time.Now()); err != nil || changed {
			t.Fatalf("second Mark task = %v, %v", changed, err)
		}
		if _, err := s.Mark(ctx, id, "nope", api.RunSuccess, "x", time.Now()); !errors.Is(err, store.ErrNoTask) {
			t.Fatalf("unknown task: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		queued, _ := s.CreateRun(ctx, store.NewRun{DAG: "etl"})
		if _, err := s.Mark(ctx, queued, "", api.RunSuccess, "x", time.Now()); !errors.Is(err, api.ErrConflict) {
			t.Fatalf("marking a queued run: %v", err)
		}
		if _, err := s.Mark(ctx, 999, "", api.RunSuccess, "x", time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("marking no run: %v", err)
		}
		if _, err := s.Mark(ctx, id, "", api.RunCancelled, "x", time.Now()); err == nil {
			t.Fatal("marking cancelled is not an operator's verdict")
		}
	})
}

func testRerunLinkSkipAndOneAtATime(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	orig := finishedRun(t, s, api.RunFailed, map[string]api.TaskState{"a": api.TaskSuccess, "b": api.TaskFailed})
	nr := store.NewRun{DAG: "etl", Trigger: store.TriggerRerun, RerunOf: orig, Skip: map[string]int64{"a": orig}, External: true}

	// Consoles press R at once: one run is queued, the others get its id.
	const consoles = 4
	var wg sync.WaitGroup
	ids := make([]int64, consoles)
	errs := make([]error, consoles)
	for i := range consoles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = s.CreateRun(ctx, nr)
		}()
	}
	wg.Wait()
	var created int64
	dups := 0
	for i := range consoles {
		switch {
		case errs[i] == nil:
			if created != 0 {
				t.Fatalf("two re-runs queued: %v", ids)
			}
			created = ids[i]
		case errors.Is(errs[i], store.ErrDuplicateRerun):
			dups++
		default:
			t.Fatal(errs[i])
		}
	}
	if created == 0 || dups != consoles-1 {
		t.Fatalf("ids %v errs %v", ids, errs)
	}
	for _, id := range ids {
		if id != created {
			t.Fatalf("a duplicate did not return the queued re-run: ids %v", ids)
		}
	}
	run, err := s.Run(ctx, created)
	if err != nil {
		t.Fatal(err)
	}
	if run.RerunOf != orig || run.Skip["a"] != orig || len(run.Skip) != 1 || run.Trigger != store.TriggerRerun {
		t.Fatalf("re-run = %+v", run)
	}
	// Adopted by an engine, it keeps what it skips.
	adopted, err := s.ClaimExternal(ctx)
	if err != nil || len(adopted) != 1 || adopted[0].Skip["a"] != orig || adopted[0].RerunOf != orig {
		t.Fatalf("adopted = %+v, %v", adopted, err)
	}
	// Interrupted by a crash and re-queued, it still skips them.
	if err := s.StartRun(ctx, created, time.Now()); err != nil {
		t.Fatal(err)
	}
	in, err := s.Recover(ctx, time.Now(), func(store.Run) bool { return true })
	if err != nil || len(in) != 1 || in[0].Requeued == 0 {
		t.Fatalf("recover = %+v, %v", in, err)
	}
	requeued, err := s.Run(ctx, in[0].Requeued)
	if err != nil || requeued.Skip["a"] != orig {
		t.Fatalf("re-queued = %+v, %v", requeued, err)
	}
	if err := s.FinishRun(ctx, requeued.ID, api.RunSuccess, "", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	// Once none is queued or running, another re-run may be queued.
	if _, err := s.CreateRun(ctx, nr); err != nil {
		t.Fatalf("re-run after the first finished: %v", err)
	}
}

func testRerunReusesBatch(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	b := &store.Batch{Topic: "events", Partition: 2, FirstOffset: 10, LastOffset: 12, Messages: []byte("{\"v\":1}\n{\"v\":2}\n{\"v\":3}\n")}
	orig, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", Trigger: store.TriggerSensor, Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Run(ctx, orig)
	if err != nil || first.BatchID == 0 {
		t.Fatalf("sensor run = %+v, %v", first, err)
	}
	if err := s.FinishRun(ctx, orig, api.RunFailed, "boom", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	re, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", Trigger: store.TriggerRerun, RerunOf: orig, ReuseBatch: first.BatchID})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Run(ctx, re)
	if err != nil || run.BatchID != first.BatchID || run.Batch != first.Batch {
		t.Fatalf("re-run = %+v (original %+v), %v", run, first, err)
	}
	msgs, err := s.BatchMessages(ctx, run.BatchID)
	if err != nil || string(msgs) != string(b.Messages) {
		t.Fatalf("batch = %q, %v", msgs, err)
	}
}

func testPauseDAG(t *testing.T, h harness) {
	s, place := h.openPlace(t)
	ctx := context.Background()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	changed, err := s.PauseDAG(ctx, "etl", api.DAGPause{By: "olga", At: at, Reason: "bad data upstream"})
	if err != nil || !changed {
		t.Fatalf("PauseDAG = %v, %v", changed, err)
	}
	// The second pause keeps the first one's actor and time.
	changed, err = s.PauseDAG(ctx, "etl", api.DAGPause{By: "ivan", At: at.Add(time.Hour)})
	if err != nil || changed {
		t.Fatalf("second PauseDAG = %v, %v", changed, err)
	}
	// It survives a restart.
	s.Close()
	s = h.reopen(t, place)
	p, err := s.PausedDAGs(ctx)
	if err != nil || len(p) != 1 || p["etl"].By != "olga" || !p["etl"].At.Equal(at) || p["etl"].Reason != "bad data upstream" {
		t.Fatalf("paused = %+v, %v", p, err)
	}
	changed, err = s.UnpauseDAG(ctx, "etl")
	if err != nil || !changed {
		t.Fatalf("UnpauseDAG = %v, %v", changed, err)
	}
	changed, err = s.UnpauseDAG(ctx, "etl")
	if err != nil || changed {
		t.Fatalf("second UnpauseDAG = %v, %v", changed, err)
	}
	if p, _ := s.PausedDAGs(ctx); len(p) != 0 {
		t.Fatalf("still paused: %+v", p)
	}
}
