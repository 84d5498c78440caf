package sensor

import (
	"log/slog"
	"testing"
	"time"
)

// TestGroupTimeoutsConsistent: whatever the session timeout, a member's
// JoinGroup is never abandoned by its own read timeout before the
// coordinator's rebalance wait ends (the stuck-PreparingRebalance pitfall).
func TestGroupTimeoutsConsistent(t *testing.T) {
	t.Parallel()
	for _, session := range []time.Duration{0, 3 * time.Second, 45 * time.Second} {
		e := &env{log: slog.New(slog.DiscardHandler), conn: ConnConfig{Brokers: []string{"127.0.0.1:9092"}},
			tun: tunables{sessionTimeout: session, heartbeat: time.Second}}
		cfg, err := e.consumerConfig(Spec{DAG: "d", Group: "g", MaxBatchSize: 10, FetchMinBytes: 1, FetchMaxWait: 100 * time.Millisecond}, 0)
		if err != nil {
			t.Fatal(err)
		}
		g := cfg.Consumer.Group
		if !(g.Session.Timeout <= g.Rebalance.Timeout && g.Rebalance.Timeout < cfg.Net.ReadTimeout) {
			t.Errorf("session %s: session %s, rebalance %s, read %s; want session <= rebalance < read",
				session, g.Session.Timeout, g.Rebalance.Timeout, cfg.Net.ReadTimeout)
		}
	}
}
