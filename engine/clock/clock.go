// Package clock is the one time source the engine and the console are
// given: the real clock in production, a fixed or hand-moved one in tests
// and goldens. It is a leaf (standard library only) so views may import it.
package clock

import "time"

// Clock tells the time and waits on it.
type Clock interface {
	Now() time.Time
	// After delivers the clock's time once d has passed on it.
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Or is c, or Real when c is nil: what a config's zero Clock means.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Fixed is a clock stopped at t: Now is always t and After never fires
// (a stopped clock never reaches a later time). Goldens and views use it.
func Fixed(t time.Time) Clock { return fixed(t) }

type fixed time.Time

func (f fixed) Now() time.Time                     { return time.Time(f) }
func (fixed) After(time.Duration) <-chan time.Time { return nil }
