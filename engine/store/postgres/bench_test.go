package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// BenchmarkRunThroughput is the durable path of a one-task run through the
// store, as the runner takes it: queue (CreateRun), claim (ClaimRuns), the
// task's start (PutClaimedAttempts) and the run's end with the task's
// (FinishClaimed) — every step committed before the next. Side by side, on
// one PostgreSQL cluster with its durable defaults (fsync and
// synchronous_commit on; pgtest.DurableDatabase):
//
//   - landed/instances=N: the claim path as it first landed
//     (postgres.Baseline);
//   - main/instances=N: the path before group commit — every call its own
//     statement, the claim flushed under its lock;
//   - after/instances=N: the current one;
//   - after-8-producers/instances=3: the current one with 8 producers
//     instead of 32 (what this benchmark used before);
//   - bare-copy: a finished run's rows (the run and its task) inserted
//     bare with pgx COPY, 500 runs a commit;
//   - bare-same-writes: the writes of the run's path, each step committed
//     before the next as the store does, issued bare with pgx by as many
//     goroutines as there are producers — the store's cost against the
//     same durable work with no store around it;
//   - sqlite: the SQLite store (synchronous=FULL), one process;
//   - nondefault-sync-off/instances=3: the current path with
//     synchronous_commit=off for the database — not durable, not a
//     default, reported apart.
//
// Each instance has its own pool and works like the runner: one dispatcher
// claims (16 at a time, again at once while claims come back full, else a
// short poll) and every claimed run is settled in its own goroutine.
// Producers (32: triggers from many clients) queue the b.N runs across the
// instances meanwhile. Task execution is not measured. runs/s is the
// figure; CPU per run (this process's, the server's) the steadier one on
// a shared box; claim-p50/p99 the latency of one ClaimRuns; creates,
// starts and finishes /stmt the calls one statement carried.
func BenchmarkRunThroughput(b *testing.B) {
	open := func(b *testing.B, url string, n int, wrap func(*postgres.Store) store.Interface) []store.Interface {
		sts := make([]store.Interface, n)
		for i := range sts {
			s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 16})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			sts[i] = wrap(s)
		}
		return sts
	}
	current := func(s *postgres.Store) store.Interface { return s }
	ungrouped := func(s *postgres.Store) store.Interface {
		postgres.SetGroups(s, 1<<20, 1)
		postgres.SetSyncClaims(s)
		return s
	}
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("landed/instances=%d", n), func(b *testing.B) {
			benchRuns(b, open(b, pgtest.DurableDatabase(b), n, postgres.Baseline), benchProducers)
		})
		b.Run(fmt.Sprintf("main/instances=%d", n), func(b *testing.B) {
			benchRuns(b, open(b, pgtest.DurableDatabase(b), n, ungrouped), benchProducers)
		})
		b.Run(fmt.Sprintf("after/instances=%d", n), func(b *testing.B) {
			benchRuns(b, open(b, pgtest.DurableDatabase(b), n, current), benchProducers)
		})
	}
	b.Run("after-8-producers/instances=3", func(b *testing.B) {
		benchRuns(b, open(b, pgtest.DurableDatabase(b), 3, current), 8)
	})
	b.Run("bare-copy", func(b *testing.B) {
		s := open(b, pgtest.DurableDatabase(b), 1, current)[0].(*postgres.Store)
		ctx := context.Background()
		meter := newCPUMeter(ctx, s.Pool())
		b.ResetTimer()
		start := time.Now()
		cli0, srv0 := meter.read()
		const batch = 500
		for done := 0; done < b.N; done += batch {
			k := min(batch, b.N-done)
			now := time.Now().UnixNano()
			err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
				rows, err := tx.Query(ctx, "SELECT nextval(pg_get_serial_sequence('runs', 'id')) FROM generate_series(1, $1)", k)
				if err != nil {
					return err
				}
				ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
				if err != nil {
					return err
				}
				runs, tasks := make([][]any, k), make([][]any, k)
				for i, id := range ids {
					runs[i] = []any{id, "d", "success", "manual", now, now, now, "i", int64(1)}
					tasks[i] = []any{id, "t", int32(1), "success", now, now}
				}
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"runs"},
					[]string{"id", "dag", "state", "trigger", "queued_at", "started_at", "finished_at", "instance", "claim"}, pgx.CopyFromRows(runs)); err != nil {
					return err
				}
				_, err = tx.CopyFrom(ctx, pgx.Identifier{"task_attempts"},
					[]string{"run_id", "task", "attempt", "state", "started_at", "finished_at"}, pgx.CopyFromRows(tasks))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		el := time.Since(start)
		cli1, srv1 := meter.read()
		b.ReportMetric(float64(b.N)/el.Seconds(), "runs/s")
		b.ReportMetric(float64((cli1-cli0).Microseconds())/float64(b.N), "cli-cpu-µs/run")
		b.ReportMetric(float64((srv1-srv0).Microseconds())/float64(b.N), "srv-cpu-µs/run")
	})
	b.Run("bare-same-writes", func(b *testing.B) {
		s := open(b, pgtest.DurableDatabase(b), 1, current)[0].(*postgres.Store)
		benchBareSameWrites(b, s.Pool(), benchProducers)
	})
	b.Run("sqlite", func(b *testing.B) {
		s, err := store.OpenDir(context.Background(), b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchRuns(b, []store.Interface{s}, benchProducers)
	})
	b.Run("nondefault-sync-off/instances=3", func(b *testing.B) {
		url := pgtest.DurableDatabase(b)
		s := open(b, url, 1, current)[0].(*postgres.Store)
		// A database setting: sessions opened from now on take it.
		if _, err := s.Pool().Exec(context.Background(), "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', current_database()); END$$"); err != nil {
			b.Fatal(err)
		}
		benchRuns(b, open(b, url, 3, current), benchProducers)
	})
}

const (
	benchProducers  = 32
	benchClaimBatch = 16
)

func benchRuns(b *testing.B, sts []store.Interface, producers int) {
	ctx := context.Background()
	var meter cpuMeter
	if pg, ok := sts[0].(interface{ Pool() *pgxpool.Pool }); ok {
		meter = newCPUMeter(ctx, pg.Pool())
	}
	b.ResetTimer()
	start := time.Now()
	cli0, srv0 := meter.read()
	var claimed, claimCalls atomic.Int64
	var wg sync.WaitGroup
	var clat []time.Duration
	var cmu sync.Mutex
	for p := range producers {
		wg.Go(func() {
			for i := p; i < b.N; i += producers {
				t0 := time.Now()
				if _, err := sts[i%len(sts)].CreateRun(ctx, store.NewRun{DAG: "d", External: true}); err != nil {
					b.Error(err)
					return
				}
				cmu.Lock()
				clat = append(clat, time.Since(t0))
				cmu.Unlock()
			}
		})
	}
	var (
		mu       sync.Mutex
		lat      []time.Duration
		finished atomic.Int64
	)
	for i, s := range sts {
		wg.Go(func() {
			id := fmt.Sprintf("bench-%d", i)
			var settles sync.WaitGroup
			defer settles.Wait()
			for finished.Load() < int64(b.N) && !b.Failed() {
				t0 := time.Now()
				cs, _, err := s.ClaimRuns(ctx, id, t0, store.ClaimLimits{MaxConcurrentRuns: 1000}, benchClaimBatch)
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				if len(cs) > 0 {
					claimed.Add(int64(len(cs)))
					claimCalls.Add(1)
				}
				for _, c := range cs {
					settles.Go(func() {
						at := time.Now()
						a := store.Attempt{RunID: c.Run.ID, Task: "t", Attempt: 1, State: api.TaskRunning, StartedAt: at}
						if err := s.PutClaimedAttempts(ctx, c.Ref(), []store.Attempt{a}); err != nil {
							b.Error(err)
							return
						}
						a.State, a.FinishedAt = api.TaskSuccess, time.Now()
						if err := s.FinishClaimed(ctx, c.Ref(), api.RunSuccess, "", a.FinishedAt, []store.Attempt{a}); err != nil {
							b.Error(err)
							return
						}
						finished.Add(1)
					})
				}
				if len(cs) < benchClaimBatch {
					<-time.After(2 * time.Millisecond) // the runner's poll, shortened
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	cli1, srv1 := meter.read()
	b.ReportMetric(float64(b.N)/el.Seconds(), "runs/s")
	b.ReportMetric(float64((cli1-cli0).Microseconds())/float64(b.N), "cli-cpu-µs/run")
	if meter.postmaster != 0 {
		b.ReportMetric(float64((srv1-srv0).Microseconds())/float64(b.N), "srv-cpu-µs/run")
	}
	if n := claimCalls.Load(); n > 0 {
		b.ReportMetric(float64(claimed.Load())/float64(n), "runs/claim")
	}
	var sent, carried [3]int64
	for _, s := range sts {
		if pg, ok := s.(*postgres.Store); ok {
			st, ca := postgres.GroupStats(pg)
			for i := range sent {
				sent[i] += st[i]
				carried[i] += ca[i]
			}
		}
	}
	for i, name := range []string{"creates", "starts", "finishes"} {
		if sent[i] > 0 {
			b.ReportMetric(float64(carried[i])/float64(sent[i]), name+"/stmt")
		}
	}
	sort.Slice(clat, func(i, j int) bool { return clat[i] < clat[j] })
	if len(clat) > 0 {
		b.ReportMetric(float64(clat[len(clat)/2].Microseconds()), "create-p50-µs")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "claim-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "claim-p99-µs")
	}
}

// benchBareSameWrites does what the store's path writes for a one-task
// run, bare: queue the run, claim it, start its task, finish both — four
// commits, the last two statements of the finish in one transaction.
func benchBareSameWrites(b *testing.B, pool *pgxpool.Pool, workers int) {
	ctx := context.Background()
	meter := newCPUMeter(ctx, pool)
	b.ResetTimer()
	start := time.Now()
	cli0, srv0 := meter.read()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				now := time.Now().UnixNano()
				var id int64
				if err := pool.QueryRow(ctx, `INSERT INTO runs (dag, state, trigger, queued_at) VALUES ('d', 'queued', 'manual', $1) RETURNING id`, now).Scan(&id); err != nil {
					b.Error(err)
					return
				}
				if _, err := pool.Exec(ctx, `UPDATE runs SET state = 'running', started_at = $1, instance = 'i', claim = claim + 1 WHERE id = $2 AND state = 'queued'`, now, id); err != nil {
					b.Error(err)
					return
				}
				if _, err := pool.Exec(ctx, `INSERT INTO task_attempts (run_id, task, attempt, state, started_at) VALUES ($1, 't', 1, 'running', $2)`, id, now); err != nil {
					b.Error(err)
					return
				}
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					var batch pgx.Batch
					batch.Queue(`UPDATE task_attempts SET state = 'success', finished_at = $1 WHERE run_id = $2 AND task = 't' AND attempt = 1`, now, id)
					batch.Queue(`UPDATE runs SET state = 'success', finished_at = $1 WHERE id = $2 AND claim = 1`, now, id)
					return tx.SendBatch(ctx, &batch).Close()
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	cli1, srv1 := meter.read()
	b.ReportMetric(float64(b.N)/el.Seconds(), "runs/s")
	b.ReportMetric(float64((cli1-cli0).Microseconds())/float64(b.N), "cli-cpu-µs/run")
	b.ReportMetric(float64((srv1-srv0).Microseconds())/float64(b.N), "srv-cpu-µs/run")
}
