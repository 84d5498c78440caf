package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBareFiveWrites is the floor the runner is measured against: the
// five writes of a one-task run (insert run, start run, insert attempt,
// finish attempt, finish run), each its own autocommit statement on one
// connection, bare modernc SQLite in WAL mode with synchronous=NORMAL — no
// queue, no executor, no group commit.
func BenchmarkBareFiveWrites(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bare.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if err := migrate(ctx, db, nil); err != nil {
		b.Fatal(err)
	}
	stmts := make([]*sql.Stmt, 0, 5)
	for _, q := range []string{
		"INSERT INTO runs (dag, state, trigger, priority, queued_at) VALUES ('noop', 'queued', 'manual', 0, ?)",
		"UPDATE runs SET state = 'running', started_at = ? WHERE id = ?",
		"INSERT INTO task_attempts (run_id, task, attempt, state, started_at) VALUES (?, 'n', 1, 'running', ?)",
		"UPDATE task_attempts SET state = 'success', finished_at = ? WHERE run_id = ? AND task = 'n' AND attempt = 1",
		"UPDATE runs SET state = 'success', finished_at = ? WHERE id = ?",
	} {
		st, err := db.Prepare(q)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		stmts = append(stmts, st)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		now := time.Now().UnixNano()
		res, err := stmts[0].Exec(now)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		for i, args := range [][]any{{now, id}, {id, now}, {now, id}, {now, id}} {
			if _, err := stmts[i+1].Exec(args...); err != nil {
				b.Fatal(err)
			}
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/run")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCreateRun measures one caller queueing runs back to back (each
// waits for its own commit) against many callers sharing commits.
func BenchmarkCreateRun(b *testing.B) {
	for _, sync := range []string{SyncFull, SyncNormal} {
		b.Run("serial/sync="+sync, func(b *testing.B) {
			s, err := OpenDir(context.Background(), b.TempDir(), Options{Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for b.Loop() {
				if _, err := s.CreateRun(context.Background(), NewRun{DAG: "d"}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel/sync="+sync, func(b *testing.B) {
			s, err := OpenDir(context.Background(), b.TempDir(), Options{Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.CreateRun(context.Background(), NewRun{DAG: "d"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
