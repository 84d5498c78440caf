package enginetest

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// PollInterval is how often a condition is re-checked between wake-ups.
const PollInterval = 10 * time.Millisecond

// Poll reports whether cond came to hold before timeout, checking it every
// PollInterval. For callers that fail with their own diagnostics.
func Poll(timeout time.Duration, cond func() bool) bool {
	return PollOn[struct{}](nil, timeout, cond)
}

// PollOn is Poll that also re-checks cond at once whenever wake delivers
// (a component's change signal or event channel), so a waiter on a signal
// does not sleep out the interval. A closed wake channel is only polled.
func PollOn[T any](wake <-chan T, timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for !cond() {
		select {
		case _, ok := <-wake:
			if !ok {
				wake = nil
			}
		case <-tick.C:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

// Eventually fails t unless cond comes to hold within timeout; what names
// the condition in the failure ("timed out after 10s waiting for what").
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	EventuallyOn[struct{}](t, nil, timeout, cond, what)
}

// EventuallyOn is Eventually re-checking cond whenever wake delivers.
func EventuallyOn[T any](t testing.TB, wake <-chan T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	if !PollOn(wake, timeout, cond) {
		TimedOut(t, timeout, what)
	}
}

// TimedOut fails t for a wait that passed its deadline. With
// SLUICE_TEST_DUMP set to a file name, every goroutine's stack is written
// there first, for hangs seen only on a busy machine.
func TimedOut(t testing.TB, timeout time.Duration, what string) {
	t.Helper()
	if f := os.Getenv("SLUICE_TEST_DUMP"); f != "" {
		buf := make([]byte, 8<<20)
		_ = os.WriteFile(f, buf[:runtime.Stack(buf, true)], 0o644)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}
