package sensor

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
)

// The demo helper brings up a broker with a producer feeding it.
func TestStartDemo(t *testing.T) {
	t.Parallel()
	d, err := StartDemo(context.Background(), DemoOptions{Topic: "demo", Partitions: 2, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	enginetest.Eventually(t, 20*time.Second, func() bool {
		r, err := NewOffsetReader(d.Conn)
		if err != nil {
			return false
		}
		defer r.Close()
		g, err := r.Read("demo-watch", []string{"demo"})
		return err == nil && len(g.Partitions) == 2 && totalLag(g) >= 50
	}, "messages flowing into the demo topic")
}
