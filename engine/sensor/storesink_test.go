package sensor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
	"github.com/sluice-dev/sluice/engine/store"
)

// The store adapter: runs carry their batch as JSON lines, a second run for
// the same range is refused, the high-water mark and the queue depth are
// per DAG, and ticks round-trip newest first.
func TestStoreSink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	sink := &StoreSink{Store: st}
	b := &Batch{Topic: "t", Partition: 2, First: 10, Last: 11, Messages: []Message{
		{Topic: "t", Partition: 2, Offset: 10, Value: []byte("a")}, {Topic: "t", Partition: 2, Offset: 11, Value: []byte("b")}}}
	id, dup, err := sink.EnqueueBatch(ctx, "d", b)
	if err != nil || dup || id == 0 {
		t.Fatalf("first enqueue: %d %v %v", id, dup, err)
	}
	id2, dup, err := sink.EnqueueBatch(ctx, "d", b)
	if err != nil || !dup || id2 != id {
		t.Fatalf("second enqueue of the same range: %d %v %v (want dup of run %d)", id2, dup, err, id)
	}
	run, err := st.Run(ctx, id)
	if err != nil || run.Trigger != store.TriggerSensor || run.Batch != "t/2/10-11" || run.State != api.RunQueued {
		t.Fatalf("stored run %+v %v", run, err)
	}
	raw, err := st.BatchMessages(ctx, run.BatchID)
	if err != nil || !strings.Contains(string(raw), `"offset":11`) {
		t.Fatalf("batch file %q %v", raw, err)
	}
	if _, _, err := sink.EnqueueBatch(ctx, "d", &Batch{Topic: "t", Partition: 2, First: 12, Last: 40,
		Messages: []Message{{Offset: 12}, {Offset: 40}}}); err != nil {
		t.Fatal(err)
	}
	if last, ok, err := sink.PersistedThrough(ctx, "d", "t", 2); err != nil || !ok || last != 40 {
		t.Errorf("high water %d %v %v, want 40", last, ok, err)
	}
	for _, q := range []struct {
		dag, topic string
		part       int32
	}{{"d", "t", 1}, {"d", "u", 2}, {"other", "t", 2}} {
		if _, ok, err := sink.PersistedThrough(ctx, q.dag, q.topic, q.part); ok || err != nil {
			t.Errorf("%+v: a high water where nothing was persisted (%v)", q, err)
		}
	}
	if n, err := sink.QueuedCount(ctx, "d"); n != 2 || err != nil {
		t.Errorf("queued %d %v, want 2", n, err)
	}
	if n, _ := sink.QueuedCount(ctx, "other"); n != 0 {
		t.Errorf("queued for another dag: %d", n)
	}

	start := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		if _, err := sink.RecordTick(ctx, TickRecord{DAG: "d", Sensor: 1, Member: i, Start: start.Add(time.Duration(i) * time.Second),
			Duration: time.Duration(i+1) * time.Millisecond, Batches: i, Messages: 10 * i, Skipped: "s", Error: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sink.RecordTick(ctx, TickRecord{DAG: "d", Sensor: 0, Start: start}); err != nil {
		t.Fatal(err)
	}
	ticks, err := sink.RecentTicks(ctx, "d", 1, 2)
	if err != nil || len(ticks) != 2 {
		t.Fatalf("recent ticks %+v %v", ticks, err)
	}
	if ticks[0].Member != 2 || ticks[0].Messages != 20 || ticks[0].Duration != 3*time.Millisecond ||
		!ticks[0].Start.Equal(start.Add(2*time.Second)) || ticks[0].Skipped != "s" || ticks[0].Error != "e" || ticks[1].Member != 1 {
		t.Errorf("ticks newest first: %+v", ticks)
	}
}

// Ticks land in the store, and a manager started again shows the history.
func TestTickHistorySurvivesRestart(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"hist"}, Partitions: 1})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "hist", 30)
	st := openStore(t)
	sink := &StoreSink{Store: st}
	spec := sensorDAG("hist", dag.Sensor{Topic: "hist", MaxQueued: 1 << 20, MaxTickRuntime: dag.Duration(100 * time.Millisecond),
		TickInterval: dag.Duration(20 * time.Millisecond)})
	newManager := func() *Manager {
		m, err := NewManager(Options{Conn: conn, Sink: sink, Ticks: sink, Logger: testLogger(t), tun: fastTunables()})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := m.Sync([]*dag.DAG{spec}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := newManager()
	enginetest.Eventually(t, 30*time.Second, func() bool {
		for _, tk := range m.Snapshot()[0].Ticks {
			if tk.Messages == 30 {
				return true
			}
		}
		return false
	}, "a tick with the 30 messages")
	m.Stop()
	stored, err := st.RecentTicks(context.Background(), "hist", 0, 100)
	if err != nil || len(stored) == 0 {
		t.Fatalf("stored ticks %v %v", stored, err)
	}
	m2 := newManager()
	defer m2.Stop()
	ticks := m2.Snapshot()[0].Ticks
	if len(ticks) < len(stored) || ticks[len(ticks)-1].ID != stored[len(stored)-1].ID {
		t.Errorf("restarted manager shows %d ticks, %d stored", len(ticks), len(stored))
	}
	for _, tk := range ticks {
		if tk.ID == 0 {
			t.Errorf("tick without its store id: %+v", tk)
		}
	}
	// Each tick keeps what it persisted: the offsets of every batch and
	// the run that carries it, also across the restart.
	var covered int64
	for _, tk := range ticks {
		n := 0
		for _, r := range tk.Ranges {
			if r.Topic != "hist" || r.Partition != 0 || r.Last < r.First || r.Run == 0 {
				t.Errorf("tick %d range %+v", tk.ID, r)
			}
			run, err := st.Run(context.Background(), r.Run)
			if err != nil || run.Batch != BatchKey(r.Topic, r.Partition, r.First, r.Last) {
				t.Errorf("tick %d names run %d: %+v %v", tk.ID, r.Run, run, err)
			}
			n += int(r.Last - r.First + 1)
			covered += r.Last - r.First + 1
		}
		if n != tk.Messages {
			t.Errorf("tick %d: %d messages, its ranges hold %d", tk.ID, tk.Messages, n)
		}
	}
	if covered != 30 {
		t.Errorf("the ticks' ranges cover %d offsets, want the 30 produced", covered)
	}
}

// The engine's run queue can stand in for the store's run creation and
// queue count.
func TestStoreSinkUsesTheRunQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	var created []store.NewRun
	sink := &StoreSink{Store: st,
		CreateRun: func(ctx context.Context, nr store.NewRun) (int64, error) {
			created = append(created, nr)
			return st.CreateRun(ctx, nr)
		},
		Queued: func(dag string) int { return 42 },
	}
	b := &Batch{Topic: "t", First: 1, Last: 1, Messages: []Message{{Offset: 1}}}
	if _, dup, err := sink.EnqueueBatch(ctx, "d", b); err != nil || dup {
		t.Fatal(dup, err)
	}
	if _, dup, err := sink.EnqueueBatch(ctx, "d", b); err != nil || !dup {
		t.Fatalf("duplicate through the queue: dup=%v err=%v", dup, err)
	}
	if len(created) != 2 || created[0].Trigger != store.TriggerSensor || created[0].Batch.Key() != "t/0/1-1" {
		t.Errorf("runs asked of the queue: %+v", created)
	}
	if n, _ := sink.QueuedCount(ctx, "d"); n != 42 {
		t.Errorf("queued %d, want the queue's 42", n)
	}
}
