package engine

import (
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

func TestBrokerCoalescesWithoutBlocking(t *testing.T) {
	t.Parallel()
	b := newBroker()
	ch, cancel := b.subscribe()
	defer cancel()
	for range 1000 {
		b.publish(api.TopicRuns)
	}
	b.publish(api.TopicDAGs)
	ev := <-ch
	if ev.Topics != api.TopicRuns|api.TopicDAGs {
		t.Fatalf("topics = %b, want runs|dags", ev.Topics)
	}
	select {
	case ev := <-ch:
		t.Fatalf("unexpected second event %+v", ev)
	default:
	}
}

func TestBrokerUnsubscribe(t *testing.T) {
	t.Parallel()
	b := newBroker()
	_, cancel := b.subscribe()
	cancel()
	cancel()
	b.publish(api.TopicRuns) // must not block on a channel nobody reads
	if len(b.subs) != 0 {
		t.Fatalf("subscribers left: %d", len(b.subs))
	}
}
