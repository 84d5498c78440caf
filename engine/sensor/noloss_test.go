package sensor

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
	"github.com/sluice-dev/sluice/engine/store"
)

// storeBatches reads back every batch the runs of dagName carry.
func storeBatches(t testing.TB, st *store.Store, dagName string) []*Batch {
	t.Helper()
	ctx := context.Background()
	runs, err := st.ListRuns(ctx, store.ListOptions{DAG: dagName})
	if err != nil {
		t.Fatal(err)
	}
	var out []*Batch
	for _, r := range runs {
		if r.BatchID == 0 {
			t.Fatalf("run %d carries no batch", r.ID)
		}
		if r.Trigger != store.TriggerSensor {
			t.Errorf("run %d trigger %q", r.ID, r.Trigger)
		}
		topic, part, first, last, err := ParseBatchKey(r.Batch)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := st.BatchMessages(ctx, r.BatchID)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := ReadJSONLines(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("run %d batch: %v", r.ID, err)
		}
		out = append(out, &Batch{Topic: topic, Partition: part, First: first, Last: last, Messages: msgs})
	}
	return out
}

// storeMessages counts the offsets the runs of dagName cover, from their
// batch keys (cheap enough to poll; topics here have no holes).
func storeMessages(t testing.TB, st *store.Store, dagName string) int {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.ListOptions{DAG: dagName})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range runs {
		_, _, first, last, err := ParseBatchKey(r.Batch)
		if err != nil {
			t.Fatal(err)
		}
		n += int(last - first + 1)
	}
	return n
}

// No loss, no doubles across a broker restart and a stretch of failing
// offset commits: every one of 100,000 offsets ends up in exactly one
// stored run, and the group's lag returns to 0. The stream is produced in
// three parts so that each failure strikes while records are in flight.
func TestNoLossNoDoublesAcrossBrokerRestartAndCommitFaults(t *testing.T) {
	t.Parallel()
	const total = 100_000
	b := startBroker(t, embedded.Options{Topics: []string{"orders"}, Partitions: 4, DataDir: t.TempDir()})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "orders", 40_000)

	st := openStore(t)
	sink := &StoreSink{Store: st}
	m, rec := newRecordingManager(t, conn, sink, fastTunables())
	d := sensorDAG("orders", dag.Sensor{Topic: "orders", MaxBatchSize: 1000, MaxQueued: 1 << 30, Replicas: 2,
		MaxTickRuntime: dag.Duration(500 * time.Millisecond), TickInterval: dag.Duration(20 * time.Millisecond)})
	if err := m.Sync([]*dag.DAG{d}); err != nil {
		t.Fatal(err)
	}

	// 1. The broker goes away mid-stream and comes back on the same ports
	// with the same data.
	enginetest.Eventually(t, 60*time.Second, func() bool { return storeMessages(t, st, "orders") >= 10_000 }, "10,000 messages in runs")
	b.Close()
	enginetest.Eventually(t, 30*time.Second, func() bool {
		for _, tk := range rec.snapshot() {
			if tk.Error != "" {
				return true
			}
		}
		return false
	}, "a tick that reports the broker down")
	if err := b.Reopen(); err != nil {
		t.Fatalf("restarting broker: %v", err)
	}

	// 2. Offset commits fail while the next part of the stream is consumed.
	faults := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.UnknownServerError, Count: -1})
	produce(t, conn, "orders", 30_000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := faults.Wait(ctx, 8); err != nil {
		t.Fatalf("waiting for failed commits: %v", err)
	}
	faults.Remove()

	// 3. The rest, with the broker healthy.
	produce(t, conn, "orders", 30_000)
	var g GroupOffsets
	if !enginetest.Poll(90*time.Second, func() bool {
		g = readOffsets(t, conn, "sluice.orders", "orders")
		return len(g.Partitions) == 4 && totalLag(g) == 0
	}) {
		t.Fatalf("lag did not return to 0: %+v; %d messages stored", g, storeMessages(t, st, "orders"))
	}
	var end int64
	for _, p := range g.Partitions {
		end += p.LogEnd
	}
	if end != total {
		t.Fatalf("log ends sum to %d, produced %d", end, total)
	}
	checkExactlyOnce(t, storeBatches(t, st, "orders"), "orders", logEnds(g))
}

var errCrash = errors.New("simulated crash")

// A consumer killed after persisting a batch but before committing it gets
// the batch again on restart, cut at other boundaries; the store holds each
// offset once all the same.
func TestCrashBetweenPersistAndCommit(t *testing.T) {
	t.Parallel()
	const total = 6000
	b := startBroker(t, embedded.Options{Topics: []string{"pay"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "pay", total)
	st := openStore(t)
	sink := &StoreSink{Store: st}

	// First life: crash right after the third batch is persisted.
	var crashed *Batch
	var persisted atomic.Int32
	crash := make(chan struct{})
	ctx, kill := context.WithCancel(context.Background())
	tun := fastTunables()
	var once sync.Once
	tun.afterPersist = func(b *Batch) error {
		if persisted.Add(1) < 3 {
			return nil
		}
		once.Do(func() {
			crashed = b
			kill() // everything stops here, before the offsets are marked
			close(crash)
		})
		return errCrash
	}
	m1, err := NewManager(Options{Conn: conn, Sink: sink, Logger: testLogger(t), tun: tun})
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	spec := dag.Sensor{Topic: "pay", MaxBatchSize: 400, MaxQueued: 1 << 30,
		MaxTickRuntime: dag.Duration(time.Second), TickInterval: dag.Duration(20 * time.Millisecond)}
	if err := m1.Sync([]*dag.DAG{sensorDAG("pay", spec)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-crash:
	case <-time.After(60 * time.Second):
		t.Fatal("no batch persisted")
	}
	m1.Stop()

	g := readOffsets(t, conn, "sluice.pay", "pay")
	for _, p := range g.Partitions {
		if p.Partition == crashed.Partition && p.Committed > crashed.First {
			t.Fatalf("partition %d committed at %d, past the crashed batch %s", p.Partition, p.Committed, crashed.Key())
		}
	}

	// Second life: other batch boundaries, same store.
	spec.MaxBatchSize = 300
	m2 := newTestManager(t, conn, sink, fastTunables())
	if err := m2.Sync([]*dag.DAG{sensorDAG("pay", spec)}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 60*time.Second, func() bool {
		g := readOffsets(t, conn, "sluice.pay", "pay")
		return len(g.Partitions) == 2 && totalLag(g) == 0
	}, "lag 0")
	g = readOffsets(t, conn, "sluice.pay", "pay")
	batches := storeBatches(t, st, "pay")
	checkExactlyOnce(t, batches, "pay", logEnds(g))
	found := false
	for _, bt := range batches {
		found = found || bt.Key() == crashed.Key()
	}
	if !found {
		t.Errorf("crashed batch %s not among stored runs", crashed.Key())
	}
}

// Two DAGs consuming one topic cut the same ranges; the store keys batches
// by range alone, yet each DAG gets every record once.
func TestTwoDAGsOneTopic(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"shared"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "shared", 2000)
	st := openStore(t)
	sink := &StoreSink{Store: st}
	m := newTestManager(t, conn, sink, fastTunables())
	spec := dag.Sensor{Topic: "shared", MaxBatchSize: 250, MaxQueued: 1 << 20, TickInterval: dag.Duration(20 * time.Millisecond)}
	if err := m.Sync([]*dag.DAG{sensorDAG("left", spec), sensorDAG("right", spec)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"left", "right"} {
		enginetest.Eventually(t, 30*time.Second, func() bool {
			g := readOffsets(t, conn, "sluice."+name, "shared")
			return len(g.Partitions) == 2 && totalLag(g) == 0
		}, name+" lag 0")
		checkExactlyOnce(t, storeBatches(t, st, name), "shared", logEnds(readOffsets(t, conn, "sluice."+name, "shared")))
	}
}
