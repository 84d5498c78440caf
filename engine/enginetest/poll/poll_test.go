package poll

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	if !Until(10*time.Second, func() bool { return n.Add(1) >= 3 }) {
		t.Error("Until gave up on a condition that came to hold")
	}
	start := time.Now()
	if Until(50*time.Millisecond, func() bool { return false }) {
		t.Error("Until reported a condition that never held")
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("Until gave up after %v, before its 50ms deadline", waited)
	}
}

// A signal on wake re-checks the condition; the condition flipping before
// the signal ends the wait well before its hour's deadline.
func TestUntilOnWakesOnSignal(t *testing.T) {
	t.Parallel()
	wake := make(chan int, 1)
	var ready atomic.Bool
	done := make(chan bool)
	go func() { done <- UntilOn(wake, time.Hour, ready.Load) }()
	ready.Store(true)
	wake <- 1
	if !<-done {
		t.Error("UntilOn returned false")
	}
	// A closed wake channel is polled, not spun on.
	closed := make(chan struct{})
	close(closed)
	if UntilOn(closed, 30*time.Millisecond, func() bool { return false }) {
		t.Error("UntilOn on a closed channel reported a condition that never held")
	}
}

// fakeT records the failure Eventually reports instead of failing.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = strings.TrimSpace(fmt.Sprintf(format, args...))
}

func TestEventuallyNamesWhatTimedOut(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	Eventually(ft, 20*time.Millisecond, func() bool { return false }, "the run to finish")
	if want := "timed out after 20ms waiting for the run to finish"; ft.msg != want {
		t.Errorf("failure = %q, want %q", ft.msg, want)
	}
	ft = &fakeT{TB: t}
	Eventually(ft, time.Second, func() bool { return true }, "nothing")
	if ft.msg != "" {
		t.Errorf("failed on a condition that held: %q", ft.msg)
	}
}
