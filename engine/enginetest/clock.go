package enginetest

import (
	"sync"
	"time"
)

// Clock is a clock.Clock that moves only when the test says so: grace
// periods and schedules of minutes pass in one Advance, without a sleep.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock is a clock stopped at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now implements clock.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After implements clock.Clock: the channel delivers once Advance has
// moved the clock d past now (at once for d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// WaitingUntil reports whether something waits (After) for a time no
// later than t: a test polls it to know a service has gone to sleep
// before it advances the clock.
func (c *Clock) WaitingUntil(t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if !w.at.After(t) {
			return true
		}
	}
	return false
}

// Advance moves the clock by d and delivers to every waiter it reached.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}
