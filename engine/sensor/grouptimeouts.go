package sensor

import (
	"time"

	"github.com/IBM/sarama"
)

// A JoinGroup request waits at the coordinator for up to the rebalance
// timeout, until every member known to the group has rejoined (members
// killed with -9 are still known until their sessions expire). sarama's
// defaults are a 60s rebalance timeout and a 30s read timeout: the client
// gives up on its own JoinGroup first, reconnects and joins again as a new
// member, while the coordinator still waits for the old one — each kill
// adds a member that never completes, and the group stays in
// PreparingRebalance. The rebalance timeout must stay below the read
// timeout, and at or above the session timeout (a rebalance must outlast a
// dead member's session, or the dead are waited for again and again).
const (
	groupRebalanceTimeout = 20 * time.Second
	// readTimeoutMargin is what a JoinGroup answer may take on the wire
	// after the coordinator's wait ended.
	readTimeoutMargin = 10 * time.Second
)

// consistentGroupTimeouts orders a consumer's timeouts: session ≤
// rebalance < read.
func consistentGroupTimeouts(cfg *sarama.Config) {
	g := &cfg.Consumer.Group
	g.Rebalance.Timeout = max(groupRebalanceTimeout, g.Session.Timeout)
	if cfg.Net.ReadTimeout < g.Rebalance.Timeout+readTimeoutMargin {
		cfg.Net.ReadTimeout = g.Rebalance.Timeout + readTimeoutMargin
	}
}
