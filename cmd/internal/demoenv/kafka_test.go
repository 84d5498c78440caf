package demoenv

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor"
)

// The demo's Kafka brings up a broker with a producer feeding it.
func TestStartKafka(t *testing.T) {
	t.Parallel()
	d, err := StartKafka(context.Background(), KafkaOptions{Topic: "demo", Partitions: 2, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	lagged := func() bool {
		r, err := sensor.NewOffsetReader(d.Conn)
		if err != nil {
			return false
		}
		defer r.Close()
		g, err := r.Read("demo-watch", []string{"demo"})
		if err != nil || len(g.Partitions) != 2 {
			return false
		}
		var lag int64
		for _, p := range g.Partitions {
			lag += p.Lag
		}
		return lag >= 50
	}
	enginetest.Eventually(t, 20*time.Second, lagged, "messages flowing into the demo topic")
}

// Stop ends the producer and the broker, once: a second Stop (Env.Close
// after a caller's own Stop) returns at once and the broker stays closed.
func TestKafkaStopsOnce(t *testing.T) {
	t.Parallel()
	d, err := StartKafka(context.Background(), KafkaOptions{Topic: "demo", Partitions: 1, Rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	addr := d.Broker.Addrs()[0]
	d.Stop()
	d.Stop()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("broker at %s still accepts connections after Stop", addr)
	}
}
