package enginetest

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest/poll"
)

// The poll helpers are defined once, in enginetest/poll (standard library
// only, for the console's tests); these forward to it so an engine test
// needs one import.

// PollInterval is poll.Interval.
const PollInterval = poll.Interval

// Poll is poll.Until.
func Poll(timeout time.Duration, cond func() bool) bool { return poll.Until(timeout, cond) }

// PollOn is poll.UntilOn.
func PollOn[T any](wake <-chan T, timeout time.Duration, cond func() bool) bool {
	return poll.UntilOn(wake, timeout, cond)
}

// Eventually is poll.Eventually.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	poll.Eventually(t, timeout, cond, what)
}

// EventuallyOn is poll.EventuallyOn.
func EventuallyOn[T any](t testing.TB, wake <-chan T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	poll.EventuallyOn(t, wake, timeout, cond, what)
}

// TimedOut is poll.TimedOut.
func TimedOut(t testing.TB, timeout time.Duration, what string) {
	t.Helper()
	poll.TimedOut(t, timeout, what)
}
