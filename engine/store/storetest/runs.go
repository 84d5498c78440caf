package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

func testMigrationsAppliedOnceAndRecorded(t *testing.T, h harness) {
	ctx := context.Background()
	s, place := h.openPlace(t)
	got, err := s.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0] != 1 {
		t.Fatalf("applied %v, want every migration starting at 1", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("applied %v: a version is missing", got)
		}
	}
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening applies nothing twice and keeps the data.
	s2 := h.reopen(t, place)
	got2, _ := s2.AppliedMigrations(ctx)
	if fmt.Sprint(got2) != fmt.Sprint(got) {
		t.Fatalf("after reopen applied %v, want %v", got2, got)
	}
	runs, err := s2.ListRuns(ctx, store.ListOptions{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs after reopen = %v, %v", runs, err)
	}
}

// Several processes starting on one fresh database at once: every open
// succeeds and each migration is recorded once.
func testConcurrentOpensMigrateOnce(t *testing.T, h harness) {
	ctx := context.Background()
	place := h.b.Fresh(t)
	const n = 4
	stores := make([]store.Interface, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = h.b.Open(ctx, place)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	got, err := stores[0].AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, v := range got {
		if seen[v] {
			t.Fatalf("migration %d recorded twice: %v", v, got)
		}
		seen[v] = true
	}
	if _, err := stores[n-1].CreateRun(ctx, store.NewRun{DAG: "a"}); err != nil {
		t.Fatal(err)
	}
}

func testRunLifecycle(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1700000000, 123456789)
	id, err := s.CreateRun(ctx, store.NewRun{DAG: "etl", Priority: 3, Config: []byte(`{"day":"2024-01-01"}`), QueuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, id, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, id, t0.Add(time.Second)); !errors.Is(err, store.ErrNotQueued) {
		t.Fatalf("second start: %v, want ErrNotQueued", err)
	}
	a := store.Attempt{RunID: id, Task: "extract", Attempt: 1, State: "running", StartedAt: t0.Add(2 * time.Second)}
	if err := s.PutAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.State, a.FinishedAt, a.LogTail, a.LogFile = "success", t0.Add(3*time.Second), "done\n", "/logs/1/extract.1"
	if err := s.PutAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	settle := []store.Attempt{{RunID: id, Task: "load", State: "upstream_failed", FinishedAt: t0.Add(4 * time.Second)}}
	if err := s.FinishRun(ctx, id, api.RunFailed, "task x failed", t0.Add(4*time.Second), settle); err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != api.RunFailed || r.Error != "task x failed" || r.Priority != 3 || string(r.Config) != `{"day":"2024-01-01"}` ||
		!r.QueuedAt.Equal(t0) || !r.StartedAt.Equal(t0.Add(time.Second)) || !r.FinishedAt.Equal(t0.Add(4*time.Second)) ||
		r.Trigger != store.TriggerManual || !r.Finished() || r.BatchID != 0 || r.Batch != "" || !r.ScheduledFor.IsZero() {
		t.Fatalf("run = %+v", r)
	}
	tasks, err := s.Tasks(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got := tasks[id]
	if len(got) != 2 || got[0].Task != "extract" || got[0].State != "success" || got[0].LogTail != "done\n" ||
		got[0].LogFile != "/logs/1/extract.1" || !got[0].StartedAt.Equal(t0.Add(2*time.Second)) ||
		got[1].Task != "load" || got[1].State != "upstream_failed" || !got[1].StartedAt.IsZero() {
		t.Fatalf("tasks = %+v", got)
	}
	if _, err := s.Run(ctx, id+100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing run: %v", err)
	}
	// A run without config reads back without one.
	bare, _ := s.CreateRun(ctx, store.NewRun{DAG: "etl"})
	if r, _ := s.Run(ctx, bare); r.Config != nil || r.QueuedAt.IsZero() {
		t.Fatalf("bare run = %+v", r)
	}
}

func testTasksReturnsLatestAttempt(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	id, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	other, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	for i, st := range []api.TaskState{"retrying", "retrying", "success"} {
		if err := s.PutAttempt(ctx, store.Attempt{RunID: id, Task: "t", Attempt: i + 1, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutAttempts(ctx, []store.Attempt{{RunID: other, Task: "b", Attempt: 1, State: "success"}, {RunID: other, Task: "a", Attempt: 1, State: "failed"}}); err != nil {
		t.Fatal(err)
	}
	tasks, _ := s.Tasks(ctx, id, other, 9999)
	if len(tasks[id]) != 1 || tasks[id][0].Attempt != 3 || tasks[id][0].State != "success" {
		t.Fatalf("tasks = %+v", tasks[id])
	}
	if len(tasks[other]) != 2 || tasks[other][0].Task != "a" || tasks[other][1].Task != "b" {
		t.Fatalf("tasks of %d = %+v, want a then b", other, tasks[other])
	}
	all, _ := s.Attempts(ctx, id, "t")
	if len(all) != 3 || all[0].Attempt != 1 || all[2].Attempt != 3 {
		t.Fatalf("attempts = %+v", all)
	}
	if none, err := s.Tasks(ctx); err != nil || len(none) != 0 {
		t.Fatalf("Tasks() = %v, %v", none, err)
	}
}

func testDuplicateBatchReturnsExistingRun(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	b := &store.Batch{Topic: "events", Partition: 2, FirstOffset: 100, LastOffset: 199, Messages: []byte("{\"a\":1}\n")}
	id, err := s.CreateRun(ctx, store.NewRun{DAG: "ingest", Trigger: store.TriggerSensor, Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateRun(ctx, store.NewRun{DAG: "ingest", Trigger: store.TriggerSensor, Batch: b})
	if !errors.Is(err, store.ErrDuplicateBatch) || again != id {
		t.Fatalf("re-delivered batch: id %d err %v; want %d and ErrDuplicateBatch", again, err, id)
	}
	// A different range of the same partition is a new run.
	other := *b
	other.FirstOffset, other.LastOffset = 200, 299
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "ingest", Batch: &other}); err != nil {
		t.Fatal(err)
	}
	runs, _ := s.ListRuns(ctx, store.ListOptions{DAG: "ingest"})
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2 (no run for the duplicate)", len(runs))
	}
	r, _ := s.Run(ctx, id)
	if r.Batch != "events/2/100-199" || r.BatchID == 0 || r.Trigger != store.TriggerSensor {
		t.Fatalf("batch key %q id %d trigger %s", r.Batch, r.BatchID, r.Trigger)
	}
	msgs, err := s.BatchMessages(ctx, r.BatchID)
	if err != nil || string(msgs) != string(b.Messages) {
		t.Fatalf("messages = %q, %v", msgs, err)
	}
}

// Concurrent writers, half carrying one batch already stored: each
// duplicate fails alone, every other write commits.
func testConcurrentDuplicateBatches(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	b := &store.Batch{Topic: "t", Partition: 0, FirstOffset: 0, LastOffset: 9, Messages: []byte("x\n")}
	first, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups, oks := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nr := store.NewRun{DAG: "d"}
			if i%2 == 0 {
				nr.Batch = b
			}
			id, err := s.CreateRun(ctx, nr)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, store.ErrDuplicateBatch):
				dups++
				if id != first {
					t.Errorf("duplicate named run %d, want %d", id, first)
				}
			case err == nil:
				oks++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n, err := s.QueuedCount(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if dups != 20 || oks != 20 || n != 21 {
		t.Fatalf("dups %d oks %d queued %d; want 20, 20, 21", dups, oks, n)
	}
	if all, _ := s.QueuedCount(ctx, ""); all != 21 {
		t.Fatalf("queued across dags = %d, want 21", all)
	}
}

func testCancelQueued(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	id, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	if err := s.CancelQueued(ctx, id, time.Now(), "cancelled by user"); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelQueued(ctx, id, time.Now(), ""); !errors.Is(err, store.ErrNotQueued) {
		t.Fatalf("second cancel: %v", err)
	}
	if err := s.CancelQueued(ctx, 999, time.Now(), ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel missing: %v", err)
	}
	r, _ := s.Run(ctx, id)
	if r.State != api.RunCancelled || r.FinishedAt.IsZero() || r.Error != "cancelled by user" {
		t.Fatalf("run = %+v", r)
	}
	// A cancelled run is finished; a queued one is not.
	if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FinishedCount(ctx); err != nil || n != 1 {
		t.Fatalf("FinishedCount = %d, %v; want 1", n, err)
	}
}

func testClaimExternal(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	own, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	ext, _ := s.CreateRun(ctx, store.NewRun{DAG: "d", External: true})
	got, err := s.ClaimExternal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != ext || got[0].DAG != "d" || got[0].State != api.RunQueued {
		t.Fatalf("claimed %+v, want only run %d (not %d)", got, ext, own)
	}
	if again, _ := s.ClaimExternal(ctx); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	s.CreateRun(ctx, store.NewRun{DAG: "d", External: true})
	all, err := s.ClaimQueued(ctx)
	if err != nil || len(all) != 3 || all[0].ID != own {
		t.Fatalf("ClaimQueued = %d runs, %v", len(all), err)
	}
	if again, _ := s.ClaimExternal(ctx); len(again) != 0 {
		t.Fatalf("ClaimQueued left %+v unadopted", again)
	}
}

func testRecover(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	now := time.Now()
	b := &store.Batch{Topic: "t", Partition: 1, FirstOffset: 5, LastOffset: 6, Messages: []byte("m\n")}
	keep, _ := s.CreateRun(ctx, store.NewRun{DAG: "retry", Config: []byte(`{"x":1}`), Priority: 2, Batch: b})
	drop, _ := s.CreateRun(ctx, store.NewRun{DAG: "once"})
	queued, _ := s.CreateRun(ctx, store.NewRun{DAG: "once"})
	for _, id := range []int64{keep, drop} {
		s.StartRun(ctx, id, now)
		s.PutAttempt(ctx, store.Attempt{RunID: id, Task: "a", Attempt: 1, State: "success"})
		s.PutAttempt(ctx, store.Attempt{RunID: id, Task: "b", Attempt: 2, State: "running"})
	}
	got, err := s.Recover(ctx, now, func(r store.Run) bool { return r.DAG == "retry" })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Run.ID != keep || got[0].Requeued == 0 || got[1].Run.ID != drop || got[1].Requeued != 0 {
		t.Fatalf("recovered %+v", got)
	}
	for _, id := range []int64{keep, drop} {
		r, _ := s.Run(ctx, id)
		if r.State != api.RunFailed || r.Error != store.InterruptedError {
			t.Fatalf("run %d = %s %q", id, r.State, r.Error)
		}
		tasks, _ := s.Tasks(ctx, id)
		if tasks[id][0].State != "success" || tasks[id][1].State != "failed" || tasks[id][1].Error != store.InterruptedError {
			t.Fatalf("tasks of %d = %+v", id, tasks[id])
		}
	}
	re, _ := s.Run(ctx, got[0].Requeued)
	if re.State != api.RunQueued || re.Trigger != store.TriggerRecovery || re.RetryOf != keep || re.Priority != 2 ||
		string(re.Config) != `{"x":1}` || re.Batch != b.Key() {
		t.Fatalf("requeued run = %+v", re)
	}
	if q, _ := s.Run(ctx, queued); q.State != api.RunQueued {
		t.Fatalf("queued run touched: %+v", q)
	}
	if again, _ := s.Recover(ctx, now, nil); len(again) != 0 {
		t.Fatalf("second recover found %+v", again)
	}
}

func testListRunsFilters(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	for i := range 6 {
		id, _ := s.CreateRun(ctx, store.NewRun{DAG: []string{"a", "b"}[i%2]})
		if i < 2 {
			s.StartRun(ctx, id, time.Now())
		}
	}
	cases := []struct {
		name string
		o    store.ListOptions
		want int
	}{
		{"all", store.ListOptions{}, 6},
		{"dag", store.ListOptions{DAG: "a"}, 3},
		{"states", store.ListOptions{States: []api.RunState{api.RunRunning}}, 2},
		{"both", store.ListOptions{DAG: "b", States: []api.RunState{api.RunQueued, api.RunRunning}}, 3},
		{"limit", store.ListOptions{Limit: 4}, 4},
		{"none", store.ListOptions{DAG: "c"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx, c.o)
			if err != nil || len(runs) != c.want {
				t.Fatalf("got %d runs, %v; want %d", len(runs), err, c.want)
			}
			for i := 1; i < len(runs); i++ {
				if runs[i].ID > runs[i-1].ID {
					t.Fatal("not newest first")
				}
			}
		})
	}
}

func testScheduledRunRecordsFireTime(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	fire := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	id, err := s.CreateRun(ctx, store.NewRun{DAG: "d", Trigger: store.TriggerSchedule, ScheduledFor: fire})
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Run(ctx, id); !r.ScheduledFor.Equal(fire) || r.Trigger != store.TriggerSchedule {
		t.Fatalf("run = %+v", r)
	}
	// An older fire never moves the mark back; a newer one does.
	if err := s.SetLastFire(ctx, "d", fire.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastFire(ctx, "e", fire.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fires, _ := s.LastFires(ctx)
	if len(fires) != 2 || !fires["d"].Equal(fire) || !fires["e"].Equal(fire.Add(time.Hour)) {
		t.Fatalf("last fires %v, want d=%v e=%v", fires, fire, fire.Add(time.Hour))
	}
	if err := s.SetLastFire(ctx, "d", fire.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if fires, _ := s.LastFires(ctx); !fires["d"].Equal(fire.Add(time.Minute)) {
		t.Fatalf("last fire of d %v, want %v", fires["d"], fire.Add(time.Minute))
	}
}

func testWritesAfterCloseFail(t *testing.T, h harness) {
	s := h.open(t)
	s.Close()
	if _, err := s.CreateRun(context.Background(), store.NewRun{DAG: "d"}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
