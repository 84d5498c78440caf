package sensor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
	"github.com/sluice-dev/sluice/engine/store"
)

// testLogger shows sensor logs with SLUICE_TEST_LOG=1.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SLUICE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	l := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	RouteSaramaLogs(l)
	return l
}

// startBroker starts an embedded cluster with topic of partitions.
func startBroker(t testing.TB, opts embedded.Options) *embedded.Broker {
	t.Helper()
	b, err := embedded.Start(opts)
	if err != nil {
		t.Fatalf("starting broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func produce(t testing.TB, conn ConnConfig, topic string, n int64) {
	t.Helper()
	st, err := Produce(context.Background(), conn, ProduceOptions{Topic: topic, Count: n, Size: 20, KeyMode: KeySeq})
	if err != nil {
		t.Fatalf("producing: %v", err)
	}
	if st.Acked != n {
		t.Fatalf("produced %d of %d (failed %d, last error %v)", st.Acked, n, st.Failed, st.LastErr)
	}
}

// fastTunables make group joins and retries quick on a loopback broker.
func fastTunables() tunables {
	return tunables{
		pollTimeout:    300 * time.Millisecond,
		heartbeat:      300 * time.Millisecond,
		sessionTimeout: 6 * time.Second,
		backoffInitial: 100 * time.Millisecond,
		backoffMax:     time.Second,
	}
}

func sensorDAG(name string, s dag.Sensor) *dag.DAG {
	s.Type = dag.SensorKafka
	return &dag.DAG{Name: name, Enabled: true, Sensors: []dag.Sensor{s},
		Nodes: []dag.Node{{ID: "a", Type: dag.KindNoop}}}
}

// memSink is an in-memory RunSink with the store's duplicate rule. Queued
// runs stay queued until drain takes them.
type memSink struct {
	mu      sync.Mutex
	batches map[string]*Batch // by key
	order   []string
	queued  int
	failErr error
	// conflict, when set, says a batch key is held by another DAG.
	conflict func(b *Batch) bool
}

func newMemSink() *memSink { return &memSink{batches: map[string]*Batch{}} }

func (s *memSink) EnqueueBatch(_ context.Context, _ string, b *Batch) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return 0, false, s.failErr
	}
	if s.conflict != nil && s.conflict(b) {
		return 0, false, ErrBatchConflict
	}
	if _, ok := s.batches[b.Key()]; ok {
		return 0, true, nil
	}
	s.batches[b.Key()] = b
	s.order = append(s.order, b.Key())
	s.queued++
	return int64(len(s.order)), false, nil
}

func (s *memSink) PersistedThrough(_ context.Context, _, topic string, partition int32) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last int64 = -1
	for _, b := range s.batches {
		if b.Topic == topic && b.Partition == partition && b.Last > last {
			last = b.Last
		}
	}
	return last, last >= 0, nil
}

func (s *memSink) QueuedCount(context.Context, string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued, nil
}

// drain takes up to n queued runs off the queue (n<0: all).
func (s *memSink) drain(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || n > s.queued {
		n = s.queued
	}
	s.queued -= n
}

func (s *memSink) all() []*Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Batch, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, s.batches[k])
	}
	return out
}

func (s *memSink) messages() int {
	n := 0
	for _, b := range s.all() {
		n += len(b.Messages)
	}
	return n
}

// checkExactlyOnce asserts every offset below ends[p] of topic is in exactly
// one batch, and no batch holds anything else.
func checkExactlyOnce(t testing.TB, batches []*Batch, topic string, ends map[int32]int64) {
	t.Helper()
	seen := map[int32]map[int64]string{}
	for _, b := range batches {
		if b.Topic != topic {
			t.Errorf("batch %s of unexpected topic", b.Key())
			continue
		}
		if seen[b.Partition] == nil {
			seen[b.Partition] = map[int64]string{}
		}
		for _, m := range b.Messages {
			if m.Offset < b.First || m.Offset > b.Last || m.Partition != b.Partition {
				t.Errorf("batch %s holds %d/%d", b.Key(), m.Partition, m.Offset)
			}
			if other, dup := seen[b.Partition][m.Offset]; dup {
				t.Errorf("offset %d/%d in batches %s and %s", b.Partition, m.Offset, other, b.Key())
			}
			seen[b.Partition][m.Offset] = b.Key()
		}
	}
	var missing []string
	for p, end := range ends {
		for off := int64(0); off < end; off++ {
			if _, ok := seen[p][off]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", p, off))
			}
		}
		if got := int64(len(seen[p])); got > end {
			t.Errorf("partition %d: %d offsets in batches, log ends at %d", p, got, end)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%d offsets in no batch, e.g. %v", len(missing), missing[:min(10, len(missing))])
	}
}

// readOffsets reads group offsets once.
func readOffsets(t testing.TB, conn ConnConfig, group string, topics ...string) GroupOffsets {
	t.Helper()
	r, err := NewOffsetReader(conn)
	if err != nil {
		t.Fatalf("offset reader: %v", err)
	}
	defer r.Close()
	g, err := r.Read(group, topics)
	if err != nil {
		t.Fatalf("reading offsets: %v", err)
	}
	return g
}

func logEnds(g GroupOffsets) map[int32]int64 {
	out := map[int32]int64{}
	for _, p := range g.Partitions {
		out[p.Partition] = p.LogEnd
	}
	return out
}

func totalLag(g GroupOffsets) int64 {
	var n int64
	for _, p := range g.Partitions {
		n += p.Lag
	}
	return n
}

// openStore opens a real SQLite store in a temp dir.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir()+"/sluice.db", store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestManager(t testing.TB, conn ConnConfig, sink RunSink, tun tunables) *Manager {
	t.Helper()
	m, err := NewManager(Options{Conn: conn, Sink: sink, Logger: testLogger(t), tun: tun,
		Lag: LagOptions{Interval: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}
