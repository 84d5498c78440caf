package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// fire_and_batch_keys rebuilds run_batches under runs' foreign key: a store written
// before it keeps every batch, under the same id, now keyed by its run's
// DAG, and the foreign keys still hold.
func TestFireAndBatchKeysMigrateAnExistingStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sluice.db")
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(ON)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		// batch_release rebuilds run_batches again, from 0008's shape.
		if m.Name != "fire_and_batch_keys" && m.Name != "batch_release" {
			if err := applyMigration(ctx, db, m, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 3 {
		res, err := db.Exec("INSERT INTO run_batches (topic, partition, first_offset, last_offset, messages) VALUES ('t', 0, ?, ?, x'7b7d')", i*10, i*10+9)
		if err != nil {
			t.Fatal(err)
		}
		bid, _ := res.LastInsertId()
		if _, err := db.Exec("INSERT INTO runs (dag, state, trigger, queued_at, batch_id) VALUES (?, 'success', 'sensor', 1, ?)", fmt.Sprint("d", i%2), bid); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.db.QueryContext(ctx, "SELECT r.dag, b.dag, b.first_offset FROM runs r JOIN run_batches b ON b.id = r.batch_id ORDER BY r.id")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var runDAG, batchDAG string
		var first int64
		if err := rows.Scan(&runDAG, &batchDAG, &first); err != nil {
			t.Fatal(err)
		}
		if runDAG != batchDAG || first != int64(n*10) {
			t.Fatalf("batch %d: run of %s, batch of %s at %d", n, runDAG, batchDAG, first)
		}
		n++
	}
	rows.Close()
	if n != 3 {
		t.Fatalf("%d batches after the migration, want 3", n)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_key_check").Scan(); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("foreign key check after the rebuild: %v (want no violation)", err)
	}
	// The batch d0 already has is refused for d0, taken for d1.
	b := &Batch{Topic: "t", Partition: 0, FirstOffset: 0, LastOffset: 9, Messages: []byte("{}")}
	if _, err := s.CreateRun(ctx, NewRun{DAG: "d0", Batch: b}); !errors.Is(err, ErrDuplicateBatch) {
		t.Fatalf("re-delivered batch of d0: %v", err)
	}
	if _, err := s.CreateRun(ctx, NewRun{DAG: "d1", Batch: b}); err != nil {
		t.Fatalf("the same offsets for another DAG: %v", err)
	}
	fire := time.Unix(100, 0)
	if _, err := s.CreateRun(ctx, NewRun{DAG: "d0", Trigger: TriggerSchedule, ScheduledFor: fire}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRun(ctx, NewRun{DAG: "d0", Trigger: TriggerSchedule, ScheduledFor: fire}); !errors.Is(err, ErrDuplicateFire) {
		t.Fatalf("second run of one fire: %v", err)
	}
}
