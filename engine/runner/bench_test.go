package runner

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// BenchmarkThroughput pushes b.N runs of a one-task sluice.noop DAG through
// the durable queue (every state change committed to SQLite, synchronous
// FULL unless the sub-benchmark says NORMAL) with max_concurrent_runs 50,
// enqueued by 8 concurrent producers. Run with -benchtime=10000x.
func BenchmarkThroughput(b *testing.B) {
	for _, sync := range []string{store.SyncFull, store.SyncNormal} {
		b.Run("sync="+sync, func(b *testing.B) { benchThroughput(b, sync) })
	}
}

func benchThroughput(b *testing.B, syncMode string) {
	dir := b.TempDir()
	st, err := store.OpenDir(context.Background(), dir, store.Options{Synchronous: syncMode})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	dags := &dagMap{}
	dags.add(b, "noop", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	idle := make(chan struct{}, 1)
	var r *Runner
	r, err = New(Config{
		Store: st, DAGs: dags, StateDir: dir, Limits: Limits{MaxConcurrentRuns: 50}, FinishedKept: 100,
		OnChange: func() {
			select {
			case idle <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer r.Stop()

	const producers = 8
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < b.N; i += producers {
				if _, err := r.Enqueue(context.Background(), store.NewRun{DAG: "noop"}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for !r.idle() {
		<-idle
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	n, err := countState(st, api.RunSuccess)
	if err != nil || n != b.N {
		b.Fatalf("%d successful runs, want %d (%v)", n, b.N, err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/task")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/task")
}

// cpuTime is the process's user + system CPU time: on a shared machine it
// says what a run costs better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func countState(st *store.Store, state api.RunState) (int, error) {
	runs, err := st.ListRuns(context.Background(), store.ListOptions{States: []api.RunState{state}})
	return len(runs), err
}

// BenchmarkRunsSnapshot10kQueued is the cost of the queue's snapshot with
// 10,000 runs waiting, wait reasons included, when the queue changed since
// the last one (an unchanged queue reuses the last one).
func BenchmarkRunsSnapshot10kQueued(b *testing.B) {
	dir := b.TempDir()
	st, err := store.OpenDir(context.Background(), dir, store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	dags := &dagMap{}
	dags.add(b, "etl", `{"max_active_runs": 2, "tags": {"team": "data"}, "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	dags.add(b, "other", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	r, err := New(Config{Store: st, DAGs: dags, StateDir: dir, Limits: Limits{TagLimits: []TagLimit{{Key: "team", Value: "data", Limit: 1}}}})
	if err != nil {
		b.Fatal(err)
	}
	// Not started: runs stay queued.
	for i := range 10000 {
		name := "etl"
		if i%2 == 1 {
			name = "other"
		}
		if _, err := r.Enqueue(context.Background(), store.NewRun{DAG: name}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		r.mu.Lock()
		r.version++
		r.mu.Unlock()
		if n := len(r.Runs().Queued); n != 10000 {
			b.Fatalf("%d queued", n)
		}
	}
}
