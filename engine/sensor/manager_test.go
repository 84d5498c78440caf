package sensor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

func TestSpecOfDefaults(t *testing.T) {
	t.Parallel()
	d := &dag.DAG{Name: "prod/etl", Sensors: []dag.Sensor{
		{Type: dag.SensorKafka, Topic: "a", Topics: []string{"b", "a"}},
		{Type: dag.SensorKafka, Topics: []string{"c"}, Group: "mine", MaxBatchSize: 7, InitialOffset: "newest", MaxQueued: 3},
		{Type: dag.SensorKafka},
		{Type: dag.SensorKafka, Topic: "x", InitialOffset: "latest"},
		{Type: "webhook"},
	}}
	sp, err := SpecOf(d, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{DAG: "prod/etl", Index: 0, Topics: []string{"a", "b"}, Group: "sluice.prod/etl",
		MaxBatchSize: dag.DefaultMaxBatchSize, MaxTickRuntime: dag.DefaultMaxTickRuntime, TickInterval: dag.DefaultTickInterval,
		Replicas: 1, FetchMinBytes: 1, FetchMaxWait: defaultFetchMaxWait, InitialOffset: OffsetOldest, MaxQueued: 8}
	if !sp.equal(want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", sp, want)
	}
	sp, err = SpecOf(d, 1, 0)
	if err != nil || sp.Group != "mine" || sp.MaxBatchSize != 7 || sp.InitialOffset != OffsetNewest || sp.MaxQueued != 3 {
		t.Errorf("explicit values: %+v %v", sp, err)
	}
	if DefaultGroup("d", 2) != "sluice.d.2" {
		t.Errorf("second sensor's group %q", DefaultGroup("d", 2))
	}
	for _, i := range []int{2, 3, 4, 5} {
		if _, err := SpecOf(d, i, 0); err == nil {
			t.Errorf("sensor %d: no error", i)
		}
	}
}

func TestManagerWithoutBrokersListsSensorsAsBroken(t *testing.T) {
	t.Parallel()
	// The command's hint says how brokers are given; the reason carries it.
	hints := ConnHints{Brokers: "set --kafka-brokers or SLUICE_KAFKA_BROKERS"}
	m, err := NewManager(Options{Sink: newMemSink(), Conn: ConnConfig{Hints: hints}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(nil); err == nil {
		t.Error("Sync before Start succeeded")
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	disabled := sensorDAG("off", dag.Sensor{Topic: "t"})
	disabled.Enabled = false
	if err := m.Sync([]*dag.DAG{sensorDAG("d", dag.Sensor{Topic: "t"}), disabled}); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if len(s) != 1 || s[0].DAG != "d" || s[0].Status != api.SensorError || !strings.Contains(s[0].Error, "no kafka brokers configured (set --kafka-brokers or SLUICE_KAFKA_BROKERS)") ||
		s[0].Group != "sluice.d" || len(s[0].Topics) != 1 {
		t.Errorf("snapshot %+v", s)
	}
	if err := m.Pause("d", 0, true, ""); !errors.Is(err, ErrUnknownSensor) {
		t.Errorf("pausing a sensor that does not run: %v", err)
	}
	select {
	case <-m.Changes():
	default:
		t.Error("Sync did not notify")
	}
	if _, err := NewManager(Options{}); err == nil {
		t.Error("a manager without a sink")
	}
}

// Sync starts, restarts and stops sensors as DAGs come, change and go; a
// paused sensor stays paused across a restart; pause stops ticking and
// resume starts it again.
func TestManagerSyncAndPause(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"p1", "p2"}, Partitions: 1})
	conn := ConnConfig{Brokers: b.Addrs()}
	sink := newMemSink()
	m := newTestManager(t, conn, sink, fastTunables())
	spec := dag.Sensor{Topic: "p1", MaxQueued: 1 << 20, MaxTickRuntime: dag.Duration(100 * time.Millisecond),
		TickInterval: dag.Duration(50 * time.Millisecond)}
	if err := m.Sync([]*dag.DAG{sensorDAG("pz", spec)}); err != nil {
		t.Fatal(err)
	}
	produce(t, conn, "p1", 10)
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() == 10 }, "10 messages")

	if err := m.Pause("pz", 0, true, "alice"); err != nil {
		t.Fatal(err)
	}
	if s := m.Snapshot(); !s[0].Paused || s[0].Status != api.SensorPaused || s[0].PausedBy != "alice" {
		t.Errorf("after pause: %+v", s[0])
	}
	// A paused sensor leaves its group (so its offsets may be reset) and
	// reads nothing: the backlog shows as lag, and the lag monitor calls
	// the partition stopped.
	produce(t, conn, "p1", 5)
	enginetest.Eventually(t, 30*time.Second, func() bool {
		s := m.Snapshot()
		return len(s[0].Lag.Partitions) == 1 && s[0].Lag.TotalLag == 5 && s[0].Lag.Partitions[0].Status == api.LagStop
	}, "lag 5, stopped")
	// The group's status says which rule decided it.
	if r := m.Snapshot()[0].Lag.Reason; !strings.Contains(r, "p1/0 STOP: committed offset stuck at 10") || !strings.Contains(r, "no member owns the partition") {
		t.Errorf("the group's reason: %q", r)
	}

	// A change of definition restarts the sensor, still paused.
	spec.MaxBatchSize = 3
	if err := m.Sync([]*dag.DAG{sensorDAG("pz", spec)}); err != nil {
		t.Fatal(err)
	}
	if s := m.Snapshot(); len(s) != 1 || !s[0].Paused {
		t.Errorf("restarted sensor lost its pause: %+v", s)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return readOffsets(t, conn, "sluice.pz", "p1").Members == 0
	}, "the restarted, paused sensor out of its group")
	if n := sink.messages(); n != 10 {
		t.Errorf("a paused sensor consumed: %d messages, want 10", n)
	}
	if err := m.Pause("pz", 0, false, ""); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() == 15 }, "15 messages after resume")
	for _, bt := range sink.all()[1:] {
		if len(bt.Messages) > 3 {
			t.Errorf("batch %s larger than the new max_batch_size 3", bt.Key())
		}
	}

	// Another DAG comes, the first goes.
	if err := m.Sync([]*dag.DAG{sensorDAG("other", dag.Sensor{Topic: "p2", MaxQueued: 1 << 20})}); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if len(s) != 1 || s[0].DAG != "other" || s[0].Topics[0] != "p2" {
		t.Errorf("after swapping DAGs: %+v", s)
	}
	if err := m.Pause("pz", 0, true, ""); !errors.Is(err, ErrUnknownSensor) {
		t.Errorf("pausing a removed sensor: %v", err)
	}
	g := readOffsets(t, conn, "sluice.pz", "p1")
	if g.Members != 0 {
		t.Errorf("removed sensor still has %d members in its group", g.Members)
	}
}
