package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/metrics"
)

func manyRuns(n int, offset int64) *api.Snapshot {
	s := baseSnapshot()
	s.Runs.Finished = nil
	for i := 0; i < n; i++ {
		s.Runs.Finished = append(s.Runs.Finished, finishedRun(offset+int64(i), "a", api.RunSuccess, 3))
	}
	return s
}

// BenchmarkScrape is one Prometheus scrape of an engine with a full
// Finished window.
func BenchmarkScrape(b *testing.B) {
	m := metrics.New(newFake(manyRuns(1000, 0)), metrics.Options{})
	h := m.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		io.Copy(io.Discard, rec.Body)
	}
}

// BenchmarkWatcherObserve is the watcher's work per engine event when the
// whole Finished window (1,000 runs) turned over since the last look.
func BenchmarkWatcherObserve(b *testing.B) {
	fake := newFake(manyRuns(1000, 0))
	m := metrics.New(fake, metrics.Options{MinInterval: time.Nanosecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer m.Stop()
	snaps := []*api.Snapshot{manyRuns(1000, 1000), manyRuns(1000, 2000)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		reads := fake.readsNow()
		fake.publish(snaps[i%2])
		i++
		for fake.readsNow() == reads {
			runtime.Gosched() // until the watcher read it: its work is the measurement
		}
	}
}
