package sensor

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
	"github.com/sluice-dev/sluice/engine/store"
)

// benchMessages is the stream each iteration ingests: 200,000 records of 20
// bytes over 4 partitions.
const (
	benchMessages   = 200_000
	benchPartitions = 4
)

// BenchmarkSensorIngest measures the sensor end to end on loopback: consume
// → a durable run per batch of 1,000 in SQLite (synchronous=FULL) → offset
// commit, until the group's committed offsets reach the end of the log. In
// the same run, on the same broker, a plain sarama consumer reads the same
// stream as fast as it can; the ratio says what persisting first costs.
func BenchmarkSensorIngest(b *testing.B) {
	for _, replicas := range []int{1, 4} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) { benchIngest(b, replicas) })
	}
}

func benchIngest(b *testing.B, replicas int) {
	brk := startBroker(b, embedded.Options{Topics: []string{"bench"}, Partitions: benchPartitions})
	conn := ConnConfig{Brokers: brk.Addrs()}
	produce(b, conn, "bench", benchMessages)
	var sensorSecs, rawSecs float64
	b.ResetTimer()
	for i := range b.N {
		rawSecs += rawConsume(b, conn).Seconds()
		sensorSecs += sensorConsume(b, conn, fmt.Sprintf("bench%d", i), replicas).Seconds()
	}
	b.StopTimer()
	sensorRate := float64(b.N*benchMessages) / sensorSecs
	rawRate := float64(b.N*benchMessages) / rawSecs
	b.ReportMetric(sensorRate, "sensor_msg/s")
	b.ReportMetric(rawRate, "raw_msg/s")
	b.ReportMetric(sensorRate/rawRate, "ratio")
	b.ReportMetric(0, "ns/op") // an op is a whole stream; the rates say it better
}

// sensorConsume runs a Manager with a real store until the stream is
// persisted and committed.
func sensorConsume(b *testing.B, conn ConnConfig, name string, replicas int) time.Duration {
	b.Helper()
	st, err := store.Open(context.Background(), b.TempDir()+"/sluice.db", store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sink := &StoreSink{Store: st}
	tun := fastTunables()
	tun.pollTimeout = 100 * time.Millisecond
	m, err := NewManager(Options{Conn: conn, Sink: sink, Ticks: sink, tun: tun, Lag: LagOptions{Interval: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Stop()
	reader, err := NewOffsetReader(conn)
	if err != nil {
		b.Fatal(err)
	}
	defer reader.Close()
	d := sensorDAG(name, dag.Sensor{Topic: "bench", MaxBatchSize: 1000, MaxQueued: 1 << 30, Replicas: replicas,
		MaxTickRuntime: dag.Duration(10 * time.Second), TickInterval: dag.Duration(10 * time.Millisecond)})
	start := time.Now()
	if err := m.Sync([]*dag.DAG{d}); err != nil {
		b.Fatal(err)
	}
	var g GroupOffsets
	if !enginetest.Poll(5*time.Minute, func() bool {
		g, err = reader.Read("sluice."+name, []string{"bench"})
		return err == nil && len(g.Partitions) == benchPartitions && totalLag(g) == 0
	}) {
		b.Fatalf("sensor did not finish: %+v %v", g, err)
	}
	return time.Since(start)
}

// rawConsume reads the whole stream with plain sarama partition consumers.
func rawConsume(b *testing.B, conn ConnConfig) time.Duration {
	b.Helper()
	cfg, err := conn.Sarama()
	if err != nil {
		b.Fatal(err)
	}
	cfg.ChannelBufferSize = 1000
	start := time.Now()
	c, err := sarama.NewConsumer(conn.Brokers, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var n atomic.Int64
	done := make(chan struct{})
	for p := range int32(benchPartitions) {
		pc, err := c.ConsumePartition("bench", p, sarama.OffsetOldest)
		if err != nil {
			b.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for range pc.Messages() {
				if n.Add(1) == benchMessages {
					close(done)
				}
			}
		}()
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("raw consumer read %d of %d", n.Load(), benchMessages)
	}
	return time.Since(start)
}
