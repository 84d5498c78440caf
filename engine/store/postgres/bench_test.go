package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// BenchmarkRunThroughput is the durable path of a one-task run through the
// store, as the runner takes it: queue (CreateRun), claim (ClaimRuns, up
// to 16 at once), the task's start (PutClaimedAttempts) and the run's end
// with the task's (FinishClaimed) — every step committed. It runs side by
// side: 1, 2 and 3 instances (each its own pool, 8 claim workers) on one
// PostgreSQL database; the same rows inserted bare with pgx (COPY); and
// the SQLite store. Task execution is not measured. runs/s is the figure;
// claim-p50/p99 the latency of one ClaimRuns.
func BenchmarkRunThroughput(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("postgres/instances=%d", n), func(b *testing.B) {
			url := pgtest.Database(b)
			sts := make([]store.Interface, n)
			for i := range sts {
				s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 16})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				sts[i] = s
			}
			benchRuns(b, sts)
		})
	}
	b.Run("postgres/bare-copy", func(b *testing.B) {
		url := pgtest.Database(b)
		s, err := postgres.Open(context.Background(), url, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		const batch = 500
		for done := 0; done < b.N; done += batch {
			k := min(batch, b.N-done)
			now := time.Now().UnixNano()
			rows := make([][]any, k)
			for i := range rows {
				rows[i] = []any{"d", "success", "manual", now, now, now, "i", int64(1)}
			}
			if _, err := s.Pool().CopyFrom(ctx, pgx.Identifier{"runs"},
				[]string{"dag", "state", "trigger", "queued_at", "started_at", "finished_at", "instance", "claim"}, pgx.CopyFromRows(rows)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
	})
	b.Run("sqlite", func(b *testing.B) {
		s, err := store.OpenDir(context.Background(), b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchRuns(b, []store.Interface{s})
	})
}

func benchRuns(b *testing.B, sts []store.Interface) {
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	// Producers queue b.N runs while the instances claim and settle them.
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := p; i < b.N; i += 4 {
				if _, err := sts[i%len(sts)].CreateRun(ctx, store.NewRun{DAG: "d", External: true}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	var mu sync.Mutex
	var lat []time.Duration
	finished := 0
	for i, s := range sts {
		for w := range 8 {
			wg.Go(func() {
				id := fmt.Sprintf("bench-%d", i)
				for {
					t0 := time.Now()
					cs, _, err := s.ClaimRuns(ctx, id, t0, store.ClaimLimits{MaxConcurrentRuns: 1000}, 16)
					d := time.Since(t0)
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, d)
					if len(cs) == 0 && finished >= b.N {
						mu.Unlock()
						return
					}
					mu.Unlock()
					if len(cs) == 0 {
						<-time.After(2 * time.Millisecond) // the runner's poll, shortened
						continue
					}
					for _, c := range cs {
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
					}
					mu.Lock()
					finished += len(cs)
					mu.Unlock()
					_ = w
				}
			})
		}
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "runs/s")
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "claim-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "claim-p99-µs")
	}
}
