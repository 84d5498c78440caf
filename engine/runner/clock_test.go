package runner

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// beatStore passes heartbeats on, and tells the test what time each
// carried.
type beatStore struct {
	store.Interface
	beats chan time.Time
}

func (b *beatStore) Heartbeat(ctx context.Context, id string, at time.Time) error {
	select {
	case b.beats <- at:
	default:
	}
	return b.Interface.Heartbeat(ctx, id, at)
}

// TestInstanceAndOutageStampsComeFromTheClock: with the runner's clock
// stopped far from the wall clock's now, the instance's registration,
// heartbeats and clean stop, and the time a store outage is shown
// "since", are the clock's.
func TestInstanceAndOutageStampsComeFromTheClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	beats := make(chan time.Time, 1)
	h, fs := setupFailing(t, func(c *Config) {
		c.Clock = enginetest.NewClock(at)
		c.Lease = 300 * time.Millisecond // a heartbeat every 50 ms
		c.Store = &beatStore{Interface: c.Store, beats: beats}
	})
	h.dags.add(t, "work", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	h.start()
	select {
	case got := <-beats:
		if !got.Equal(at) {
			t.Errorf("heartbeat at %v, want the clock's %v", got, at)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat")
	}

	fs.failFinish.Store(true)
	id := h.enqueue("work", "")
	h.waitFor("the outage shown", func() bool { return h.r.StoreHealth().Problem() == "store: disk full" })
	if since := h.r.StoreHealth().Since; !since.Equal(at) {
		t.Errorf("store failing since %v, want the clock's %v", since, at)
	}
	fs.failFinish.Store(false)
	h.waitRun(id)

	h.r.Stop()
	ins, err := h.st.Instances(context.Background())
	if err != nil || len(ins) != 1 {
		t.Fatalf("instances = %+v, %v", ins, err)
	}
	if in := ins[0]; !in.StartedAt.Equal(at) || !in.LastHeartbeat.Equal(at) || !in.StoppedAt.Equal(at) {
		t.Errorf("instance started %v, last beat %v, stopped %v; want each the clock's %v", in.StartedAt, in.LastHeartbeat, in.StoppedAt, at)
	}
}
