// Package lifecycle is the one start/stop shape every long-running engine
// service shares (after riverqueue/river's startstop): Start once, Stop
// once, Stop waits for every goroutine the service started, Stop of a
// service never started is fine, and Start after Stop fails with
// ErrStopped instead of half-running a service whose owner let it go.
//
// It is not internal so the services under cmd/ (the demo's Kafka
// producer) share the shape too; it imports only the standard library.
package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinels a second Start returns.
var (
	ErrStarted = errors.New("already started")
	ErrStopped = errors.New("started after Stop")
)

type state = int32

const (
	idle state = iota
	running
	stopped
)

// Lifecycle is embedded by value in a service; its zero value is idle.
//
// The mutex is held for the whole of Start and of Stop, so a Stop racing a
// Start waits for the start to finish and then undoes it, and a second Stop
// returns only once the first one is done.
type Lifecycle struct {
	mu     sync.Mutex
	state  atomic.Int32 // written under mu; read by Running without it
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs start with a context derived from ctx that Stop cancels. The
// goroutines start launches with Go are the service's; Stop waits for
// them. When start fails, its context is cancelled, the goroutines it
// launched are waited for, and the service is idle again (a later Start
// may retry).
func (l *Lifecycle) Start(ctx context.Context, start func(ctx context.Context) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.state.Load() {
	case running:
		return ErrStarted
	case stopped:
		return ErrStopped
	}
	runCtx, cancel := context.WithCancel(ctx)
	if err := start(runCtx); err != nil {
		cancel()
		l.wg.Wait()
		return err
	}
	l.cancel = cancel
	l.state.Store(running)
	return nil
}

// Go runs f as one of the service's goroutines. Call it from the start
// function or from a goroutine Go already runs: only then is it ordered
// before the wait of Stop.
func (l *Lifecycle) Go(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// Every runs f every d (its first run after d) as one of the service's
// goroutines, until ctx ends: the polling loop of a service whose only
// work is periodic. Call it as Go.
func (l *Lifecycle) Every(ctx context.Context, d time.Duration, f func(ctx context.Context)) {
	l.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f(ctx)
			}
		}
	})
}

// Stop cancels the context of Start, waits for the service's goroutines,
// then runs teardown (nil: nothing), once. Stop of a service never started
// only marks it stopped; every Stop after the first returns once the first
// is done.
func (l *Lifecycle) Stop(teardown func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Swap(stopped) != running {
		return
	}
	l.cancel()
	l.wg.Wait()
	if teardown != nil {
		teardown()
	}
}

// Running reports whether Start succeeded and Stop has not begun. It does
// not wait for a Start or Stop in progress, so the service's own
// goroutines may call it.
func (l *Lifecycle) Running() bool { return l.state.Load() == running }
