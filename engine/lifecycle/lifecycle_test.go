package lifecycle

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest/poll"
)

// service is the smallest user of the shape: one goroutine that runs until
// its context ends, counting starts, exits and teardowns.
type service struct {
	life      Lifecycle
	failStart error
	starts    atomic.Int32
	running   atomic.Int32 // goroutines alive
	exits     atomic.Int32
	teardowns atomic.Int32
	// exitedBeforeTeardown is whether every goroutine had exited when
	// teardown ran.
	exitedBeforeTeardown atomic.Bool
}

func (s *service) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) error {
		s.starts.Add(1)
		s.running.Add(1)
		s.life.Go(func() {
			defer s.exits.Add(1)
			defer s.running.Add(-1)
			<-ctx.Done()
		})
		return s.failStart
	})
}

func (s *service) Stop() {
	s.life.Stop(func() {
		s.exitedBeforeTeardown.Store(s.running.Load() == 0)
		s.teardowns.Add(1)
	})
}

func TestOrders(t *testing.T) {
	t.Parallel()
	type step struct {
		op      string // "start" or "stop"
		wantErr error  // of a start
	}
	tests := []struct {
		name          string
		steps         []step
		wantStarts    int32
		wantTeardowns int32
		wantRunning   bool
	}{
		{name: "stop never started", steps: []step{{op: "stop"}}},
		{name: "start", steps: []step{{op: "start"}}, wantStarts: 1, wantRunning: true},
		{name: "start stop", steps: []step{{op: "start"}, {op: "stop"}}, wantStarts: 1, wantTeardowns: 1},
		{name: "double start", steps: []step{{op: "start"}, {op: "start", wantErr: ErrStarted}}, wantStarts: 1, wantRunning: true},
		{name: "double stop", steps: []step{{op: "start"}, {op: "stop"}, {op: "stop"}}, wantStarts: 1, wantTeardowns: 1},
		{name: "start after stop", steps: []step{{op: "start"}, {op: "stop"}, {op: "start", wantErr: ErrStopped}}, wantStarts: 1, wantTeardowns: 1},
		{name: "start after never-started stop", steps: []step{{op: "stop"}, {op: "start", wantErr: ErrStopped}}},
		{name: "start stop start stop", steps: []step{{op: "start"}, {op: "stop"}, {op: "start", wantErr: ErrStopped}, {op: "stop"}}, wantStarts: 1, wantTeardowns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &service{}
			for i, st := range tt.steps {
				switch st.op {
				case "start":
					if err := s.Start(context.Background()); !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: Start = %v, want %v", i, err, st.wantErr)
					}
				case "stop":
					s.Stop()
				}
			}
			if got := s.starts.Load(); got != tt.wantStarts {
				t.Errorf("start functions run = %d, want %d", got, tt.wantStarts)
			}
			if got := s.teardowns.Load(); got != tt.wantTeardowns {
				t.Errorf("teardowns = %d, want %d", got, tt.wantTeardowns)
			}
			if got := s.life.Running(); got != tt.wantRunning {
				t.Errorf("Running = %v, want %v", got, tt.wantRunning)
			}
			if tt.wantTeardowns > 0 {
				if !s.exitedBeforeTeardown.Load() {
					t.Error("teardown ran while a goroutine was still running")
				}
				if got := s.exits.Load(); got != tt.wantStarts {
					t.Errorf("goroutines exited = %d, want %d", got, tt.wantStarts)
				}
			}
			s.Stop() // leave nothing running
		})
	}
}

// Stop returns only when the goroutines have exited, for every one of
// many concurrent callers, and tears down once.
func TestConcurrentStopWaitsOnce(t *testing.T) {
	t.Parallel()
	s := &service{}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
			if n := s.running.Load(); n != 0 {
				t.Errorf("Stop returned with %d goroutines running", n)
			}
			if n := s.teardowns.Load(); n != 1 {
				t.Errorf("Stop returned with %d teardowns done, want 1", n)
			}
		}()
	}
	wg.Wait()
	if n := s.teardowns.Load(); n != 1 {
		t.Errorf("teardowns = %d, want 1", n)
	}
}

// Concurrent Starts start once.
func TestConcurrentStartStartsOnce(t *testing.T) {
	t.Parallel()
	s := &service{}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Start(context.Background())
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.Is(err, ErrStarted):
				t.Errorf("Start = %v, want nil or ErrStarted", err)
			}
		}()
	}
	wg.Wait()
	s.Stop()
	if ok.Load() != 1 || s.starts.Load() != 1 {
		t.Errorf("%d Starts succeeded, %d start functions ran; want 1 and 1", ok.Load(), s.starts.Load())
	}
}

// A failed start cancels and waits for what it launched, leaves the service
// idle (Stop has nothing to tear down) and may be retried.
func TestFailedStartUndoesAndMayRetry(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	s := &service{failStart: boom}
	if err := s.Start(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want boom", err)
	}
	if n := s.running.Load(); n != 0 {
		t.Fatalf("failed Start returned with %d goroutines running", n)
	}
	if s.life.Running() {
		t.Fatal("Running after a failed Start")
	}
	s.failStart = nil
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("retry: %v", err)
	}
	s.Stop()
	if s.starts.Load() != 2 || s.teardowns.Load() != 1 || s.exits.Load() != 2 {
		t.Errorf("starts %d teardowns %d exits %d; want 2 1 2", s.starts.Load(), s.teardowns.Load(), s.exits.Load())
	}
}

// A Stop that arrives while Start is still running waits for it, then
// stops what it started.
func TestStopDuringStartWaitsForIt(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	entered, release := make(chan struct{}), make(chan struct{})
	var exited atomic.Bool
	startErr := make(chan error, 1)
	go func() {
		startErr <- l.Start(context.Background(), func(ctx context.Context) error {
			close(entered)
			<-release
			l.Go(func() {
				<-ctx.Done()
				exited.Store(true)
			})
			return nil
		})
	}()
	<-entered
	stopped := make(chan struct{})
	go func() {
		l.Stop(nil)
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while Start was running")
	case <-time.After(50 * time.Millisecond): // a Stop that did not wait would be done by now
	}
	close(release)
	<-stopped
	if err := <-startErr; err != nil {
		t.Fatal(err)
	}
	if !exited.Load() {
		t.Error("Stop returned before the goroutine Start launched exited")
	}
}

// The parent context ending stops the goroutines too; Stop afterwards
// still tears down once.
func TestParentCancelEndsGoroutines(t *testing.T) {
	t.Parallel()
	s := &service{}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if !poll.Until(10*time.Second, func() bool { return s.exits.Load() == 1 }) {
		t.Fatal("goroutine did not exit when the parent context ended")
	}
	s.Stop()
	if s.teardowns.Load() != 1 {
		t.Errorf("teardowns = %d, want 1", s.teardowns.Load())
	}
}

// Running may be called from the service's goroutine while Stop waits for
// it (it does not take the lifecycle's mutex).
func TestRunningFromGoroutineDuringStop(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	sawStopping := make(chan bool, 1)
	if err := l.Start(context.Background(), func(ctx context.Context) error {
		l.Go(func() {
			<-ctx.Done()
			sawStopping <- l.Running()
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l.Stop(nil)
	if <-sawStopping {
		t.Error("Running was true while stopping")
	}
}

// Every runs its function repeatedly until Stop, which waits for a run in
// progress: nothing runs after Stop returned.
func TestEveryRunsUntilStop(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	var runs atomic.Int32
	if err := l.Start(context.Background(), func(ctx context.Context) error {
		l.Every(ctx, time.Millisecond, func(context.Context) { runs.Add(1) })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(10*time.Second, func() bool { return runs.Load() >= 3 }) {
		t.Fatalf("ran %d times, want repeated runs", runs.Load())
	}
	l.Stop(nil)
	after := runs.Load()
	for i := 0; i < 3; i++ {
		if runtime.Gosched(); runs.Load() != after {
			t.Fatal("ran after Stop returned")
		}
	}
}
