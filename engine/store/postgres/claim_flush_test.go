package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
)

// TestClaimIsFlushedWhenReturned: the claim transaction commits without
// waiting for its WAL flush (to release the claim lock early), so
// ClaimRuns must flush before returning. On a durable cluster of its own
// whose WAL writer sleeps 10 s and nothing else writes, the WAL must be
// flushed up to its end once ClaimRuns returned; without flushClaimSQL it
// is not.
func TestClaimIsFlushedWhenReturned(t *testing.T) {
	t.Parallel()
	bin, err := pgtest.FindBin()
	if err != nil {
		if pgtest.Required() {
			t.Fatal(err)
		}
		t.Skip(pgtest.InstallHint)
	}
	c, err := pgtest.StartWith(bin, pgtest.Settings{Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, "flush"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, c.URL("flush"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{"ALTER SYSTEM SET wal_writer_delay = '10s'", "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()"} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	flushed := func() bool {
		var ok bool
		if err := s.pool.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn()").Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i := range 5 {
		if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d"}); err != nil {
			t.Fatal(err)
		}
		cs, _, err := s.ClaimRuns(ctx, "i", time.Now(), store.ClaimLimits{}, 1)
		if err != nil || len(cs) != 1 {
			t.Fatalf("claimed %d (%v), want 1", len(cs), err)
		}
		if !flushed() {
			t.Fatalf("claim %d returned before its WAL was flushed", i)
		}
	}
	// The check can fail: an asynchronous commit alone leaves the WAL
	// unflushed here.
	if _, err := s.pool.Exec(ctx, "BEGIN; SET LOCAL synchronous_commit = off; UPDATE runs SET claim = claim; COMMIT"); err != nil {
		t.Fatal(err)
	}
	if flushed() {
		t.Fatal("an asynchronous commit was flushed at once: the check proves nothing on this server")
	}
}
