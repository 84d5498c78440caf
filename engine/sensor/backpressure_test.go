package sensor

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// boundedSink records the deepest its queue ever got.
type boundedSink struct {
	*memSink
	mu       sync.Mutex
	maxDepth int
}

func (s *boundedSink) EnqueueBatch(ctx context.Context, dagName string, b *Batch) (int64, bool, error) {
	id, dup, err := s.memSink.EnqueueBatch(ctx, dagName, b)
	q, _ := s.memSink.QueuedCount(ctx, dagName)
	s.mu.Lock()
	s.maxDepth = max(s.maxDepth, q)
	s.mu.Unlock()
	return id, dup, err
}

// Runs finish slower than the stream arrives: ticks stop pulling and say
// so, the queue never passes its bound, and the backlog shows up as lag in
// Kafka instead.
func TestBackpressure(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"flood"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = Produce(ctx, conn, ProduceOptions{Topic: "flood", Rate: 1000, Size: 20})
	}()
	sink := &boundedSink{memSink: newMemSink()}
	go func() { // a slow runner: one run every 200ms
		defer wg.Done()
		tk := time.NewTicker(200 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				sink.drain(1)
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })

	const bound = 3
	m, rec := newRecordingManager(t, conn, sink, fastTunables())
	if err := m.Sync([]*dag.DAG{sensorDAG("flood", dag.Sensor{Topic: "flood", MaxBatchSize: 20, MaxQueued: bound,
		MaxTickRuntime: dag.Duration(300 * time.Millisecond), TickInterval: dag.Duration(50 * time.Millisecond)})}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, tk := range rec.snapshot() {
			if strings.HasPrefix(tk.Skipped, SkipBackpressure) {
				n++
			}
		}
		return n >= 3
	}, "ticks skipped for backpressure")
	enginetest.Eventually(t, 10*time.Second, func() bool {
		s := m.Snapshot()
		return len(s) == 1 && s[0].Status == api.SensorBackpressure
	}, "the sensor's status to say backpressure")
	lag1 := totalLag(readOffsets(t, conn, "sluice.flood", "flood"))
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return totalLag(readOffsets(t, conn, "sluice.flood", "flood")) > lag1+200
	}, "lag to grow in Kafka")
	sink.mu.Lock()
	depth := sink.maxDepth
	sink.mu.Unlock()
	if depth > bound {
		t.Errorf("queue reached %d runs, bound %d", depth, bound)
	}
	if depth < bound {
		t.Errorf("queue peaked at %d, want the bound %d reached (else nothing pushed back)", depth, bound)
	}
	for _, tk := range rec.snapshot() {
		if strings.HasPrefix(tk.Skipped, SkipBackpressure) && !strings.Contains(tk.Skipped, "bound 3") {
			t.Errorf("skip reason %q does not name the bound", tk.Skipped)
		}
	}
}
