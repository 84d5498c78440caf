// Package poll is the one poll-with-deadline every test waits with. It
// imports only the standard library, so the console's tests (views/, tui/)
// use it without pulling in the engine, and so do leaf engine packages
// whose tests should not pull in the store (lifecycle, postgres); other
// engine tests reach it through enginetest's forwarders.
package poll

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Interval is how often a condition is re-checked between wake-ups.
const Interval = 10 * time.Millisecond

// Until reports whether cond came to hold before timeout, checking it
// every Interval. For callers that fail with their own diagnostics.
func Until(timeout time.Duration, cond func() bool) bool {
	return UntilOn[struct{}](nil, timeout, cond)
}

// UntilOn is Until that also re-checks cond at once whenever wake delivers
// (a component's change signal or event channel), so a waiter on a signal
// does not sleep out the interval. A closed wake channel is only polled.
func UntilOn[T any](wake <-chan T, timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(Interval)
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
	if !UntilOn(wake, timeout, cond) {
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
