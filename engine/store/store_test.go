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

// The shared suite (storetest) checks migrations are applied once; here
// what only SQLite has: every embedded file applied, in WAL mode.
func TestMigrationsAppliedInWALMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
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
}

func TestMigrationAppliedWhenALowerVersionArrivesLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := setup(t)
	// Pretend version 1 was never applied although later ones may be: the
	// runner must apply what is missing, not only what is above the max.
	// (0005, 0006, 0010 and 0011 alter runs, 0008 and 0013 rebuild run_batches: they go too.)
	if _, err := s.db.Exec("DELETE FROM schema_migrations WHERE version IN (1, 5, 6, 8, 10, 11, 13)"); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"task_attempts", "runs", "run_batches", "schedules", "audit_log", "dag_pauses", "instances",
		"dag_versions", "dag_pins", "backfills"} {
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
