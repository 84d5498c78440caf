package engine

import (
	"sync"

	"github.com/sluice-dev/sluice/engine/api"
)

// broker fans events out to subscribers without ever blocking the publisher:
// each subscriber has a one-slot channel, and an event that finds the slot
// full is merged into the one waiting there.
type broker struct {
	mu   sync.Mutex
	subs map[chan api.Event]struct{}
}

func newBroker() *broker { return &broker{subs: make(map[chan api.Event]struct{})} }

func (b *broker) subscribe() (<-chan api.Event, func()) {
	ch := make(chan api.Event, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
		})
	}
}

func (b *broker) publish(t api.Topic) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		ev := api.Event{Topics: t}
		select {
		case old := <-ch:
			ev.Topics |= old.Topics
		default:
		}
		ch <- ev // the slot is free: only publish sends, under mu
	}
}
