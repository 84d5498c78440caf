package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

func setup(t *testing.T) *Store {
	t.Helper()
	s, err := OpenDir(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrationsAppliedOnceAndRecorded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenDir(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ms) || got[0] != 1 {
		t.Fatalf("applied %v, want every one of %d migrations starting at 1", got, len(ms))
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	if _, err := s.CreateRun(ctx, NewRun{DAG: "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening applies nothing twice and keeps the data.
	s2, err := OpenDir(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got2, _ := s2.AppliedMigrations(ctx)
	if fmt.Sprint(got2) != fmt.Sprint(got) {
		t.Fatalf("after reopen applied %v, want %v", got2, got)
	}
	runs, err := s2.ListRuns(ctx, ListOptions{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs after reopen = %v, %v", runs, err)
	}
}

func TestMigrationAppliedWhenALowerVersionArrivesLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	// Pretend version 1 was never applied although later ones may be: the
	// runner must apply what is missing, not only what is above the max.
	if _, err := s.db.Exec("DELETE FROM schema_migrations WHERE version = 1"); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"task_attempts", "runs", "run_batches", "schedules"} {
		if _, err := s.db.Exec("DROP TABLE " + tbl); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(ctx, s.db, s.log); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRun(ctx, NewRun{DAG: "a"}); err != nil {
		t.Fatalf("runs table not recreated: %v", err)
	}
}

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	t0 := time.Unix(1700000000, 0)
	id, err := s.CreateRun(ctx, NewRun{DAG: "etl", Priority: 3, Config: []byte(`{"day":"2024-01-01"}`), QueuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, id, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, id, t0.Add(time.Second)); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("second start: %v, want ErrNotQueued", err)
	}
	a := Attempt{RunID: id, Task: "extract", Attempt: 1, State: "running", StartedAt: t0.Add(2 * time.Second)}
	if err := s.PutAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.State, a.FinishedAt, a.LogTail = "success", t0.Add(3*time.Second), "done\n"
	if err := s.PutAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	settle := []Attempt{{RunID: id, Task: "load", State: "upstream_failed", FinishedAt: t0.Add(4 * time.Second)}}
	if err := s.FinishRun(ctx, id, api.RunFailed, "task x failed", t0.Add(4*time.Second), settle); err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != api.RunFailed || r.Error != "task x failed" || r.Priority != 3 || string(r.Config) != `{"day":"2024-01-01"}` ||
		!r.QueuedAt.Equal(t0) || !r.StartedAt.Equal(t0.Add(time.Second)) || !r.FinishedAt.Equal(t0.Add(4*time.Second)) ||
		r.Trigger != TriggerManual || !r.Finished() {
		t.Fatalf("run = %+v", r)
	}
	tasks, err := s.Tasks(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got := tasks[id]
	if len(got) != 2 || got[0].Task != "extract" || got[0].State != "success" || got[0].LogTail != "done\n" ||
		got[1].Task != "load" || got[1].State != "upstream_failed" {
		t.Fatalf("tasks = %+v", got)
	}
	if _, err := s.Run(ctx, id+100); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing run: %v", err)
	}
}

func TestTasksReturnsLatestAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	id, _ := s.CreateRun(ctx, NewRun{DAG: "d"})
	for i, st := range []api.TaskState{"retrying", "retrying", "success"} {
		if err := s.PutAttempt(ctx, Attempt{RunID: id, Task: "t", Attempt: i + 1, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	tasks, _ := s.Tasks(ctx, id)
	if len(tasks[id]) != 1 || tasks[id][0].Attempt != 3 || tasks[id][0].State != "success" {
		t.Fatalf("tasks = %+v", tasks[id])
	}
	all, _ := s.Attempts(ctx, id, "t")
	if len(all) != 3 {
		t.Fatalf("attempts = %+v", all)
	}
}

func TestDuplicateBatchReturnsExistingRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	b := &Batch{Topic: "events", Partition: 2, FirstOffset: 100, LastOffset: 199, Messages: []byte("{\"a\":1}\n")}
	id, err := s.CreateRun(ctx, NewRun{DAG: "ingest", Trigger: TriggerSensor, Batch: b})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateRun(ctx, NewRun{DAG: "ingest", Trigger: TriggerSensor, Batch: b})
	if !errors.Is(err, ErrDuplicateBatch) || again != id {
		t.Fatalf("re-delivered batch: id %d err %v; want %d and ErrDuplicateBatch", again, err, id)
	}
	// A different range of the same partition is a new run.
	other := *b
	other.FirstOffset, other.LastOffset = 200, 299
	if _, err := s.CreateRun(ctx, NewRun{DAG: "ingest", Batch: &other}); err != nil {
		t.Fatal(err)
	}
	runs, _ := s.ListRuns(ctx, ListOptions{DAG: "ingest"})
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2 (no run for the duplicate)", len(runs))
	}
	r, _ := s.Run(ctx, id)
	if r.Batch != "events/2/100-199" || r.BatchID == 0 {
		t.Fatalf("batch key %q id %d", r.Batch, r.BatchID)
	}
	msgs, err := s.BatchMessages(ctx, r.BatchID)
	if err != nil || string(msgs) != string(b.Messages) {
		t.Fatalf("messages = %q, %v", msgs, err)
	}
}

func TestDuplicateBatchInsideAGroupLeavesOthersCommitted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	b := &Batch{Topic: "t", Partition: 0, FirstOffset: 0, LastOffset: 9, Messages: []byte("x\n")}
	if _, err := s.CreateRun(ctx, NewRun{DAG: "d", Batch: b}); err != nil {
		t.Fatal(err)
	}
	// Many concurrent writers so that groups form; the duplicates fail alone.
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups, oks := 0, 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nr := NewRun{DAG: "d"}
			if i%2 == 0 {
				nr.Batch = b
			}
			_, err := s.CreateRun(ctx, nr)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrDuplicateBatch):
				dups++
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
}

func TestWriteErrorRollsBackOnlyThatWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	var wg sync.WaitGroup
	boom := errors.New("boom")
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.write(ctx, func(tx *sql.Tx) error {
				if _, err := tx.Exec("INSERT INTO schedules (dag, last_fire) VALUES (?, 1)", fmt.Sprint("d", i)); err != nil {
					return err
				}
				if i%5 == 0 {
					return boom // after a write: it must vanish
				}
				return nil
			})
			if (i%5 == 0) != errors.Is(err, boom) {
				t.Errorf("write %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	fires, err := s.LastFires(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fires) != 40 {
		t.Fatalf("%d rows, want 40", len(fires))
	}
	for k := range fires {
		var i int
		fmt.Sscanf(k, "d%d", &i)
		if i%5 == 0 {
			t.Fatalf("row %s of a failed write was committed", k)
		}
	}
}

func TestCancelQueued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	id, _ := s.CreateRun(ctx, NewRun{DAG: "d"})
	if err := s.CancelQueued(ctx, id, time.Now(), "cancelled by user"); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelQueued(ctx, id, time.Now(), ""); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("second cancel: %v", err)
	}
	if err := s.CancelQueued(ctx, 999, time.Now(), ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel missing: %v", err)
	}
	r, _ := s.Run(ctx, id)
	if r.State != api.RunCancelled || r.FinishedAt.IsZero() {
		t.Fatalf("run = %+v", r)
	}
}

func TestClaimExternal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	own, _ := s.CreateRun(ctx, NewRun{DAG: "d"})
	ext, _ := s.CreateRun(ctx, NewRun{DAG: "d", External: true})
	got, err := s.ClaimExternal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != ext {
		t.Fatalf("claimed %+v, want only run %d (not %d)", got, ext, own)
	}
	if again, _ := s.ClaimExternal(ctx); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	s.CreateRun(ctx, NewRun{DAG: "d", External: true})
	all, err := s.ClaimQueued(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("ClaimQueued = %d runs, %v", len(all), err)
	}
	if again, _ := s.ClaimExternal(ctx); len(again) != 0 {
		t.Fatalf("ClaimQueued left %+v unadopted", again)
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	now := time.Now()
	b := &Batch{Topic: "t", Partition: 1, FirstOffset: 5, LastOffset: 6, Messages: []byte("m\n")}
	keep, _ := s.CreateRun(ctx, NewRun{DAG: "retry", Config: []byte(`{"x":1}`), Priority: 2, Batch: b})
	drop, _ := s.CreateRun(ctx, NewRun{DAG: "once"})
	queued, _ := s.CreateRun(ctx, NewRun{DAG: "once"})
	for _, id := range []int64{keep, drop} {
		s.StartRun(ctx, id, now)
		s.PutAttempt(ctx, Attempt{RunID: id, Task: "a", Attempt: 1, State: "success"})
		s.PutAttempt(ctx, Attempt{RunID: id, Task: "b", Attempt: 2, State: "running"})
	}
	got, err := s.Recover(ctx, now, func(r Run) bool { return r.DAG == "retry" })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Run.ID != keep || got[0].Requeued == 0 || got[1].Run.ID != drop || got[1].Requeued != 0 {
		t.Fatalf("recovered %+v", got)
	}
	for _, id := range []int64{keep, drop} {
		r, _ := s.Run(ctx, id)
		if r.State != api.RunFailed || r.Error != InterruptedError {
			t.Fatalf("run %d = %s %q", id, r.State, r.Error)
		}
		tasks, _ := s.Tasks(ctx, id)
		if tasks[id][0].State != "success" || tasks[id][1].State != "failed" || tasks[id][1].Error != InterruptedError {
			t.Fatalf("tasks of %d = %+v", id, tasks[id])
		}
	}
	re, _ := s.Run(ctx, got[0].Requeued)
	if re.State != api.RunQueued || re.Trigger != TriggerRecovery || re.RetryOf != keep || re.Priority != 2 ||
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

func TestListRunsFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	for i := range 6 {
		id, _ := s.CreateRun(ctx, NewRun{DAG: []string{"a", "b"}[i%2]})
		if i < 2 {
			s.StartRun(ctx, id, time.Now())
		}
	}
	cases := []struct {
		name string
		o    ListOptions
		want int
	}{
		{"all", ListOptions{}, 6},
		{"dag", ListOptions{DAG: "a"}, 3},
		{"states", ListOptions{States: []api.RunState{api.RunRunning}}, 2},
		{"both", ListOptions{DAG: "b", States: []api.RunState{api.RunQueued, api.RunRunning}}, 3},
		{"limit", ListOptions{Limit: 4}, 4},
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

func TestScheduledRunRecordsFireTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	fire := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	if _, err := s.CreateRun(ctx, NewRun{DAG: "d", Trigger: TriggerSchedule, ScheduledFor: fire}); err != nil {
		t.Fatal(err)
	}
	// An older fire never moves the mark back.
	if err := s.SetLastFire(ctx, "d", fire.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	fires, _ := s.LastFires(ctx)
	if !fires["d"].Equal(fire) {
		t.Fatalf("last fire %v, want %v", fires["d"], fire)
	}
}

func TestWritesAfterCloseFail(t *testing.T) {
	t.Parallel()
	s, err := OpenDir(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.CreateRun(context.Background(), NewRun{DAG: "d"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestOpenRejectsUnknownSynchronous(t *testing.T) {
	t.Parallel()
	_, err := OpenDir(context.Background(), t.TempDir(), Options{Synchronous: "OFF"})
	if err == nil || !strings.Contains(err.Error(), "FULL or NORMAL") {
		t.Fatalf("err = %v", err)
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, held, _ := LockHolder(dir); held {
		t.Fatal("fresh dir reported locked")
	}
	l, err := AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second lock: %v; want ErrLocked naming pid %d", err, os.Getpid())
	}
	pid, held, err := LockHolder(dir)
	if err != nil || !held || pid != os.Getpid() {
		t.Fatalf("holder = %d %v %v", pid, held, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, held, _ := LockHolder(dir); held {
		t.Fatal("still held after release")
	}
	l2, err := AcquireLock(dir)
	if err != nil {
		t.Fatalf("relock: %v", err)
	}
	l2.Release()
}

func TestDefaultStateDir(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLUICE_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "/s"},
		{map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/h"}, "/x/sluice"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/sluice"},
	}
	for _, c := range cases {
		if got := DefaultStateDir(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: got %s, want %s", c.env, got, c.want)
		}
	}
}

func TestIntegrityCheck(t *testing.T) {
	t.Parallel()
	s := setup(t)
	if res, err := s.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Fatalf("integrity = %q, %v", res, err)
	}
	if filepath.Base(s.Path()) != DBFile {
		t.Fatalf("path %s", s.Path())
	}
}
