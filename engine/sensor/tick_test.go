package sensor

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
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
	waitFor(t, 30*time.Second, "1000 messages in runs", func() bool { return sink.messages() >= 1000 })
	waitFor(t, 30*time.Second, "lag 0", func() bool {
		return totalLag(readOffsets(t, conn, "sluice.basic", "events")) == 0
	})
	g := readOffsets(t, conn, "sluice.basic", "events")
	checkExactlyOnce(t, sink.all(), "events", logEnds(g))
	for _, bt := range sink.all() {
		if len(bt.Messages) > 100 {
			t.Errorf("batch %s has %d messages, max_batch_size 100", bt.Key(), len(bt.Messages))
		}
	}
}
