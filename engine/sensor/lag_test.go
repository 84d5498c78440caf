package sensor

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// A group that never committed (the broker does not know it) shows its lag
// as the log-end offset, and with nobody consuming it ends up STOP. The
// reading is stamped by the monitor's clock (stopped here); its rules
// judge the real time between reads.
func TestLagOfGroupThatNeverCommitted(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"idle"}, Partitions: 3})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "idle", 30)

	changed := make(chan struct{}, 1)
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	mon := NewLagMonitor(conn, LagOptions{Interval: 50 * time.Millisecond, Window: 3, Clock: clock.Fixed(at), Changed: func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}})
	mon.Track("nobody", []string{"idle"})
	if err := mon.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer mon.Stop()
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no change notification")
	}
	enginetest.Eventually(t, 10*time.Second, func() bool {
		lag, _, _ := mon.Lag("nobody")
		return lag.Status == api.LagErr && len(lag.Partitions) == 3 && lag.Partitions[0].Status == api.LagStop
	}, "the group to be STOP")
	lag, hist, ok := mon.Lag("nobody")
	if !ok {
		t.Fatal("group not tracked")
	}
	var ends int64
	for _, p := range lag.Partitions {
		if p.Committed != -1 || p.Lag != p.LogEnd {
			t.Errorf("partition %d: committed %d lag %d log end %d; want -1 and lag = log end", p.Partition, p.Committed, p.Lag, p.LogEnd)
		}
		ends += p.LogEnd
	}
	if ends != 30 || lag.TotalLag != 30 {
		t.Errorf("log ends %d, total lag %d; want 30 and 30", ends, lag.TotalLag)
	}
	if lag.Members != 0 {
		t.Errorf("members %d", lag.Members)
	}
	if !lag.At.Equal(at) {
		t.Errorf("reading at %v, want the clock's %v", lag.At, at)
	}
	if len(hist) < 2 || hist[len(hist)-1] != 30 {
		t.Errorf("history %v: want samples ending at 30", hist)
	}
	mon.Untrack("nobody")
	if _, _, ok := mon.Lag("nobody"); ok {
		t.Error("untracked group still reported")
	}
}

// The lag monitor reports a broker it cannot reach as ERR, at its clock's
// time, and recovers when the broker is back.
func TestLagMonitorBrokerDown(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"down"}, Partitions: 1, DataDir: t.TempDir()})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "down", 5)
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	mon := NewLagMonitor(conn, LagOptions{Interval: 50 * time.Millisecond, Clock: clock.Fixed(at)})
	mon.Track("g", []string{"down"})
	if err := mon.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer mon.Stop()
	failing := func() bool {
		mon.mu.Lock()
		defer mon.mu.Unlock()
		return mon.groups["g"].failing
	}
	enginetest.Eventually(t, 10*time.Second, func() bool { l, _, _ := mon.Lag("g"); return len(l.Partitions) == 1 }, "a first reading")
	b.Close()
	enginetest.Eventually(t, 20*time.Second, func() bool {
		l, _, _ := mon.Lag("g")
		return l.Status == api.LagErr && failing()
	}, "ERR while the broker is down")
	if l, _, _ := mon.Lag("g"); !l.At.Equal(at) {
		t.Errorf("failed reading at %v, want the clock's %v", l.At, at)
	}
	if err := b.Reopen(); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 20*time.Second, func() bool {
		l, _, _ := mon.Lag("g")
		return !failing() && len(l.Partitions) == 1 && l.Partitions[0].LogEnd == 5
	}, "readings again")
}

// The manager's snapshot carries the lag of each sensor's group: 0 and OK
// once everything is consumed, with a consume rate and a history.
func TestSnapshotCarriesLag(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"snap"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	sink := newMemSink()
	m := newTestManager(t, conn, sink, fastTunables())
	if err := m.Sync([]*dag.DAG{sensorDAG("snap", dag.Sensor{Topic: "snap", MaxBatchSize: 50, MaxQueued: 1 << 20,
		TickInterval: dag.Duration(100 * time.Millisecond)})}); err != nil {
		t.Fatal(err)
	}
	// A stream spread over a second, so the monitor sees offsets move.
	if _, err := Produce(context.Background(), conn, ProduceOptions{Topic: "snap", Rate: 500, Count: 500, Size: 20}); err != nil {
		t.Fatal(err)
	}
	var sawRate bool
	enginetest.Eventually(t, 30*time.Second, func() bool {
		s := m.Snapshot()
		if len(s) != 1 {
			return false
		}
		for _, p := range s[0].Lag.Partitions {
			sawRate = sawRate || p.Rate > 0
		}
		return len(s[0].Lag.Partitions) == 2 && s[0].Lag.TotalLag == 0 && s[0].Lag.Members == 1 && len(s[0].Ticks) > 0 &&
			sink.messages() == 500
	}, "lag 0 in the snapshot")
	s := m.Snapshot()[0]
	if s.Lag.Group != "sluice.snap" || s.Group != "sluice.snap" || s.Lag.Status != api.LagOK || s.Lag.State != "Stable" {
		t.Errorf("lag %+v", s.Lag)
	}
	if len(s.History) == 0 || len(s.Ticks) == 0 {
		t.Errorf("history %v, %d ticks", s.History, len(s.Ticks))
	}
	if !sawRate {
		t.Error("no partition ever showed a consume rate")
	}
}
