package sensor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

func TestSensorConsumesEveryMessageOnce(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"events"}, Partitions: 3})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "events", 1000)

	sink := newMemSink()
	m := newTestManager(t, conn, sink, fastTunables())
	d := sensorDAG("basic", dag.Sensor{Topic: "events", MaxBatchSize: 100, MaxQueued: 1 << 20,
		MaxTickRuntime: dag.Duration(time.Second), TickInterval: dag.Duration(50 * time.Millisecond)})
	if err := m.Sync([]*dag.DAG{d}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() >= 1000 }, "1000 messages in runs")
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return totalLag(readOffsets(t, conn, "sluice.basic", "events")) == 0
	}, "lag 0")
	g := readOffsets(t, conn, "sluice.basic", "events")
	checkExactlyOnce(t, sink.all(), "events", logEnds(g))
	for _, bt := range sink.all() {
		if len(bt.Messages) > 100 {
			t.Errorf("batch %s has %d messages, max_batch_size 100", bt.Key(), len(bt.Messages))
		}
	}
}

// tickRecorder collects ticks through Options.OnTick.
type tickRecorder struct {
	mu    sync.Mutex
	ticks []TickRecord
}

func (r *tickRecorder) add(t TickRecord) {
	r.mu.Lock()
	r.ticks = append(r.ticks, t)
	r.mu.Unlock()
}

func (r *tickRecorder) snapshot() []TickRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]TickRecord(nil), r.ticks...)
}

func newRecordingManager(t *testing.T, conn ConnConfig, sink RunSink, tun tunables) (*Manager, *tickRecorder) {
	t.Helper()
	rec := &tickRecorder{}
	m, err := NewManager(Options{Conn: conn, Sink: sink, Logger: testLogger(t), tun: tun, OnTick: rec.add,
		Lag: LagOptions{Interval: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m, rec
}

// A steady stream keeps a tick pulling until max_tick_runtime; the next tick
// starts tick_interval after the previous one ended.
func TestTickRuntimeAndInterval(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"stream"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = Produce(ctx, conn, ProduceOptions{Topic: "stream", Rate: 2000, Size: 20})
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })

	const runtime, interval = 600 * time.Millisecond, 400 * time.Millisecond
	sink := newMemSink()
	m, rec := newRecordingManager(t, conn, sink, fastTunables())
	d := sensorDAG("steady", dag.Sensor{Topic: "stream", MaxBatchSize: 50, MaxQueued: 1 << 20,
		MaxTickRuntime: dag.Duration(runtime), TickInterval: dag.Duration(interval)})
	if err := m.Sync([]*dag.DAG{d}); err != nil {
		t.Fatal(err)
	}
	// Ticks with messages from the start of the stream on (the first may
	// include the group join).
	enginetest.Eventually(t, 30*time.Second, func() bool {
		n := 0
		for _, tk := range rec.snapshot() {
			if tk.Messages > 0 {
				n++
			}
		}
		return n >= 4
	}, "4 busy ticks")
	ticks := rec.snapshot()
	busy := 0
	for i, tk := range ticks {
		if tk.Error != "" {
			t.Errorf("tick %d: error %s", i, tk.Error)
		}
		if tk.Messages == 0 {
			continue
		}
		busy++
		if busy == 1 {
			continue
		}
		if tk.Duration < runtime || tk.Duration > runtime+time.Second {
			t.Errorf("tick %d lasted %v, want about max_tick_runtime %v", i, tk.Duration, runtime)
		}
		if tk.Batches < 2 || tk.Messages > tk.Batches*50 {
			t.Errorf("tick %d: %d messages in %d batches, want several batches of at most 50", i, tk.Messages, tk.Batches)
		}
	}
	for i := 1; i < len(ticks); i++ {
		prevEnd := ticks[i-1].Start.Add(ticks[i-1].Duration)
		if gap := ticks[i].Start.Sub(prevEnd); gap < interval-10*time.Millisecond {
			t.Errorf("tick %d started %v after the previous ended, want >= tick_interval %v", i, gap, interval)
		}
	}
}

// replicas members share the partitions: each owns some, each ticks.
func TestReplicasSplitPartitions(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"wide"}, Partitions: 4})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "wide", 400)

	sink := newMemSink()
	m, rec := newRecordingManager(t, conn, sink, fastTunables())
	d := sensorDAG("wide", dag.Sensor{Topic: "wide", MaxBatchSize: 20, MaxQueued: 1 << 20, Replicas: 2,
		MaxTickRuntime: dag.Duration(200 * time.Millisecond), TickInterval: dag.Duration(50 * time.Millisecond)})
	if err := m.Sync([]*dag.DAG{d}); err != nil {
		t.Fatal(err)
	}
	var g GroupOffsets
	enginetest.Eventually(t, 30*time.Second, func() bool {
		g = readOffsets(t, conn, "sluice.wide", "wide")
		owned := map[string]int{}
		for _, p := range g.Partitions {
			owned[p.Owner]++
		}
		return g.Members == 2 && len(owned) == 2 && owned[""] == 0 && owned[g.Partitions[0].Owner] == 2
	}, "two members owning two partitions each")
	// Produce after the split so both members have work.
	produce(t, conn, "wide", 400)
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() >= 800 }, "800 messages in runs")
	enginetest.Eventually(t, 30*time.Second, func() bool { return totalLag(readOffsets(t, conn, "sluice.wide", "wide")) == 0 }, "lag 0")
	checkExactlyOnce(t, sink.all(), "wide", logEnds(readOffsets(t, conn, "sluice.wide", "wide")))
	worked := map[int]int{}
	for _, tk := range rec.snapshot() {
		worked[tk.Member] += tk.Messages
	}
	if worked[0] == 0 || worked[1] == 0 {
		t.Errorf("messages per member %v: want both replicas to consume", worked)
	}
}

// A store that fails for a while: ticks report it, and once it is back every
// record is in exactly one run (the failed batches are retried, never
// skipped by a later commit).
func TestStoreErrorsLoseNothing(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"flaky"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	sink := newMemSink()
	m, rec := newRecordingManager(t, conn, sink, fastTunables())
	if err := m.Sync([]*dag.DAG{sensorDAG("flaky", dag.Sensor{Topic: "flaky", MaxBatchSize: 40, MaxQueued: 1 << 20,
		MaxTickRuntime: dag.Duration(300 * time.Millisecond), TickInterval: dag.Duration(20 * time.Millisecond)})}); err != nil {
		t.Fatal(err)
	}
	produce(t, conn, "flaky", 200)
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() > 0 }, "the first runs")
	sink.mu.Lock()
	sink.failErr = errors.New("disk full")
	sink.mu.Unlock()
	produce(t, conn, "flaky", 200)
	enginetest.Eventually(t, 30*time.Second, func() bool {
		for _, tk := range rec.snapshot() {
			if strings.Contains(tk.Error, "disk full") {
				return true
			}
		}
		return false
	}, "a tick reporting the store error")
	produce(t, conn, "flaky", 200)
	sink.mu.Lock()
	sink.failErr = nil
	sink.mu.Unlock()
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() == 600 }, "600 messages")
	enginetest.Eventually(t, 30*time.Second, func() bool { return totalLag(readOffsets(t, conn, "sluice.flaky", "flaky")) == 0 }, "lag 0")
	checkExactlyOnce(t, sink.all(), "flaky", logEnds(readOffsets(t, conn, "sluice.flaky", "flaky")))
}
