package sensor

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// groupLog records the group-membership requests the broker receives.
type groupLog struct {
	mu     sync.Mutex
	events []string // "join <member id>", "leave <member id>"
}

func (g *groupLog) add(e string) {
	g.mu.Lock()
	g.events = append(g.events, e)
	g.mu.Unlock()
}

func (g *groupLog) snapshot() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.events)
}

func observeGroup(c *kfake.Cluster, group string) *groupLog {
	log := &groupLog{}
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if r := req.(*kmsg.JoinGroupRequest); r.Group == group {
			log.add("join " + r.MemberID)
		}
		return nil, nil, false
	})
	c.ControlKey(int16(kmsg.LeaveGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.LeaveGroupRequest)
		if r.Group != group {
			return nil, nil, false
		}
		if r.MemberID != "" {
			log.add("leave " + r.MemberID)
		}
		for _, m := range r.Members {
			log.add("leave " + m.MemberID)
		}
		return nil, nil, false
	})
	return log
}

// TestMemberThatCannotJoinRejoinsFresh: a member whose rejoin fails (as
// when the coordinator is stuck in PreparingRebalance waiting for members
// killed with -9) does not keep knocking with its old member id: it leaves
// the group and joins again as a new member, then consumes on, losing and
// doubling nothing.
func TestMemberThatCannotJoinRejoinsFresh(t *testing.T) {
	t.Parallel()
	b := startBroker(t, embedded.Options{Topics: []string{"events"}, Partitions: 2})
	conn := ConnConfig{Brokers: b.Addrs()}
	produce(t, conn, "events", 200)
	const group = "sluice.rejoin"

	sink := newMemSink()
	m := newTestManager(t, conn, sink, fastTunables())
	d := sensorDAG("rejoin", dag.Sensor{Topic: "events", MaxBatchSize: 50, MaxQueued: 1 << 20,
		MaxTickRuntime: dag.Duration(300 * time.Millisecond), TickInterval: dag.Duration(20 * time.Millisecond)})
	log := observeGroup(b.Cluster(), group)
	if err := m.Sync([]*dag.DAG{d}); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() >= 200 }, "the first 200 messages")

	// The coordinator asks for a rebalance, then refuses the rejoin.
	c := b.Cluster()
	refused := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.JoinGroup}, Group: group, Err: kerr.UnknownServerError,
		When: func(req kmsg.Request) bool { return req.(*kmsg.JoinGroupRequest).MemberID != "" }})
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Group: group, Err: kerr.RebalanceInProgress})
	enginetest.Eventually(t, 30*time.Second, func() bool { return refused.Hits() >= 1 }, "the rejoin refused")

	enginetest.Eventually(t, 30*time.Second, func() bool {
		return freshAfterRefusal(log.snapshot())
	}, "a leave and a fresh join after the refusal")
	produce(t, conn, "events", 200)
	enginetest.Eventually(t, 30*time.Second, func() bool { return sink.messages() >= 400 }, "the next 200 messages")
	g := readOffsets(t, conn, group, "events")
	checkExactlyOnce(t, sink.all(), "events", logEnds(g))
	t.Logf("group requests: %v", log.snapshot())
}

// freshAfterRefusal finds, in the order the broker saw them, a rejoin with
// a member id X that is followed by "leave X" and then by a join with no
// member id (a new member).
func freshAfterRefusal(ev []string) bool {
	for i, e := range ev {
		if len(e) <= 5 || e[:5] != "join " {
			continue
		}
		id := e[5:]
		left := -1
		for j := i + 1; j < len(ev); j++ {
			if ev[j] == "leave "+id {
				left = j
				break
			}
		}
		if left < 0 {
			continue
		}
		if slices.Contains(ev[left+1:], "join ") {
			return true
		}
	}
	return false
}
