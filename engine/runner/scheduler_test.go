package runner

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// fakeClock moves only when told to. After registers a waiter and signals
// waiting, so a test knows the scheduler is asleep before advancing.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	waiting chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waiting: make(chan struct{}, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

type schedHarness struct {
	t     *testing.T
	st    *store.Store
	dags  *dagMap
	clock *fakeClock
	logs  *strings.Builder
	logMu *sync.Mutex
}

func newSchedHarness(t *testing.T, now time.Time) *schedHarness {
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &schedHarness{t: t, st: st, dags: &dagMap{}, clock: newFakeClock(now), logs: &strings.Builder{}, logMu: &sync.Mutex{}}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (h *schedHarness) scheduler() *Scheduler {
	s := NewScheduler(SchedulerConfig{
		Store: h.st,
		DAGs:  h.dags.all,
		Enqueue: func(ctx context.Context, nr store.NewRun) (int64, error) {
			return h.st.CreateRun(ctx, nr)
		},
		Clock:  h.clock,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{h.logMu, h.logs}, nil)),
	})
	if err := s.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(s.Stop)
	return s
}

func (h *schedHarness) runs() []store.Run {
	runs, err := h.st.ListRuns(context.Background(), store.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return runs
}

func (h *schedHarness) log() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.String()
}

var t0 = time.Date(2025, 3, 1, 10, 2, 0, 0, time.UTC)

func TestSchedulerFiresOnSchedule(t *testing.T) {
	t.Parallel()
	h := newSchedHarness(t, t0)
	h.dags.add(t, "five", `{"schedule": "*/5 * * * *", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	h.dags.add(t, "off", `{"enabled": false, "schedule": "* * * * *", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	h.dags.add(t, "manual", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	s := h.scheduler()
	<-h.clock.waiting
	if len(h.runs()) != 0 {
		t.Fatal("a schedule seen for the first time fired for its past")
	}
	if next := s.NextFires(); !next["five"].Equal(t0.Add(3*time.Minute)) || len(next) != 1 {
		t.Fatalf("next fires %v", next)
	}
	h.clock.Advance(3 * time.Minute)
	enginetest.PollOn(h.clock.waiting, 10*time.Second, func() bool { return len(h.runs()) > 0 })
	runs := h.runs()
	if len(runs) != 1 || runs[0].DAG != "five" || runs[0].Trigger != store.TriggerSchedule || !runs[0].ScheduledFor.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("runs %+v", runs)
	}
	fires, _ := h.st.LastFires(context.Background())
	if !fires["five"].Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("last fire %v", fires["five"])
	}
	if len(s.Missed()) != 0 {
		t.Fatalf("missed %+v", s.Missed())
	}
}

func TestSchedulerAfterRestartDoesNotRepeat(t *testing.T) {
	t.Parallel()
	h := newSchedHarness(t, t0)
	h.dags.add(t, "five", `{"schedule": "*/5 * * * *", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	if _, err := h.st.CreateRun(context.Background(), store.NewRun{DAG: "five", Trigger: store.TriggerSchedule, ScheduledFor: t0.Add(-2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Restarted a minute after the 10:00 fire, which already ran.
	h.scheduler()
	if n := len(h.runs()); n != 1 {
		t.Fatalf("%d runs, want the one from before the restart", n)
	}
}

func TestSchedulerMissedFires(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		catchUp  bool
		now      time.Time
		missed   int
		wantRuns []time.Time // ScheduledFor of the runs queued
		policy   string
	}{
		{"skip", false, time.Date(2025, 3, 1, 13, 2, 0, 0, time.UTC), 3, nil, "skipped"},
		{"catch up once", true, time.Date(2025, 3, 1, 13, 2, 0, 0, time.UTC), 3,
			[]time.Time{time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)}, "caught up"},
		{"skip, latest on time", false, time.Date(2025, 3, 1, 13, 0, 30, 0, time.UTC), 2,
			[]time.Time{time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)}, "skipped"},
		{"catch up and latest on time", true, time.Date(2025, 3, 1, 13, 0, 30, 0, time.UTC), 2,
			[]time.Time{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)}, "caught up"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newSchedHarness(t, c.now)
			catch := ""
			if c.catchUp {
				catch = `"catch_up": true,`
			}
			h.dags.add(t, "hourly", `{"schedule": "0 * * * *", `+catch+` "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
			// Last fired at 10:00; down since.
			if err := h.st.SetLastFire(context.Background(), "hourly", time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			s := h.scheduler()
			runs := h.runs()
			var got []time.Time
			for i := len(runs) - 1; i >= 0; i-- {
				got = append(got, runs[i].ScheduledFor.UTC())
			}
			if len(got) != len(c.wantRuns) {
				t.Fatalf("runs for %v, want %v", got, c.wantRuns)
			}
			for i := range got {
				if !got[i].Equal(c.wantRuns[i]) {
					t.Fatalf("runs for %v, want %v", got, c.wantRuns)
				}
			}
			m := s.Missed()
			if len(m) != 1 || m[0].Count != c.missed || !m[0].First.Equal(time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)) || m[0].CaughtUp != c.catchUp {
				t.Fatalf("missed %+v", m)
			}
			if !strings.Contains(h.log(), "missed fires") || !strings.Contains(h.log(), c.policy) {
				t.Fatalf("log %q", h.log())
			}
			// Nothing fires twice: a tick at the same instant queues nothing.
			s.Tick(context.Background())
			if n := len(h.runs()); n != len(c.wantRuns) {
				t.Fatalf("second tick queued more: %d runs", n)
			}
			fires, _ := h.st.LastFires(context.Background())
			if !fires["hourly"].Equal(time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)) {
				t.Fatalf("last fire %v", fires["hourly"])
			}
		})
	}
}

func TestSchedulerManyMissedFiresAreCapped(t *testing.T) {
	t.Parallel()
	h := newSchedHarness(t, t0)
	h.dags.add(t, "often", `{"schedule": "@every 1s", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	h.st.SetLastFire(context.Background(), "often", t0.Add(-30*24*time.Hour))
	start := time.Now()
	s := h.scheduler()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
	if m := s.Missed(); len(m) != 1 || m[0].Count != maxMissedCount {
		t.Fatalf("missed %+v", m)
	}
}
