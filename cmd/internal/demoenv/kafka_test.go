package demoenv

import (
	"context"
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
