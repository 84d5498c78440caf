package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/internal/lifecycle"
	"github.com/sluice-dev/sluice/engine/store"
)

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	Store store.Interface
	// DAGs lists the definitions that may fire: active ones (and the last
	// good version of an invalid file), enabled.
	DAGs func() []*dag.DAG
	// Enqueue queues a run (Runner.Enqueue).
	Enqueue func(ctx context.Context, nr store.NewRun) (int64, error)
	Clock   clock.Clock // nil: the real clock
	Logger  *slog.Logger
	// OnTime is how late a fire may be handled and still count as on time
	// rather than missed (default 1 minute).
	OnTime time.Duration
}

// Missed reports schedule fires that passed while the engine was down.
type Missed struct {
	DAG        string
	Count      int // fires missed (capped at maxMissedCount)
	First      time.Time
	Last       time.Time
	CaughtUp   bool  // one run was queued for them (catch_up)
	CatchUpRun int64 // its id
}

// maxMissedCount bounds the count of missed fires (an "@every 1s" schedule
// after a week down).
const maxMissedCount = 10000

// Scheduler fires runs on DAGs' cron schedules. Each DAG's last fire time is
// stored with the run it fired, in one transaction, so a restart neither
// repeats nor forgets a fire.
type Scheduler struct {
	cfg SchedulerConfig
	log *slog.Logger

	mu     sync.Mutex
	last   map[string]time.Time
	next   map[string]time.Time
	missed []Missed

	poke chan struct{}
	life lifecycle.Lifecycle
}

// NewScheduler prepares a scheduler; Start begins firing.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	cfg.Clock = clock.Or(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnTime <= 0 {
		cfg.OnTime = time.Minute
	}
	return &Scheduler{
		cfg:  cfg,
		log:  cfg.Logger,
		last: map[string]time.Time{},
		next: map[string]time.Time{},
		poke: make(chan struct{}, 1),
	}
}

// Start loads the last fire times, handles fires missed while down, and
// starts the loop.
func (s *Scheduler) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) error {
		last, err := s.cfg.Store.LastFires(ctx)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.last = last
		s.mu.Unlock()
		s.Tick(ctx)
		s.life.Go(func() { s.loop(ctx) })
		return nil
	})
}

// Stop ends the loop and waits for it.
func (s *Scheduler) Stop() { s.life.Stop(nil) }

// Poke makes the scheduler re-read the DAGs (a DAG or its schedule changed).
func (s *Scheduler) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop(ctx context.Context) {
	for {
		wait := time.Hour
		now := s.cfg.Clock.Now()
		s.mu.Lock()
		for _, t := range s.next {
			if d := t.Sub(now); d < wait {
				wait = max(d, 0)
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Clock.After(wait):
		case <-s.poke:
		}
		s.Tick(ctx)
	}
}

// Tick fires every due schedule as of the clock's now and recomputes the
// next fire times. A fire more than OnTime late was missed: reported, and
// caught up with one run when the DAG says catch_up.
func (s *Scheduler) Tick(ctx context.Context) {
	now := s.cfg.Clock.Now()
	next := map[string]time.Time{}
	for _, d := range s.cfg.DAGs() {
		if d.Schedule == "" || !d.Enabled {
			continue
		}
		s.mu.Lock()
		last, seen := s.last[d.Name]
		s.mu.Unlock()
		if !seen {
			// A schedule seen for the first time starts now: its past is
			// not missed.
			if err := s.cfg.Store.SetLastFire(ctx, d.Name, now); err != nil {
				s.log.Error("recording schedule start", "dag", d.Name, "err", err)
				continue
			}
			s.setLast(d.Name, now)
			next[d.Name] = d.NextFire(now)
			continue
		}
		s.fireDue(ctx, d, last, now)
		s.mu.Lock()
		next[d.Name] = d.NextFire(s.last[d.Name])
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.next = next
	s.mu.Unlock()
}

func (s *Scheduler) setLast(name string, t time.Time) {
	s.mu.Lock()
	if t.After(s.last[name]) {
		s.last[name] = t
	}
	s.mu.Unlock()
}

// fireDue handles the fires of one DAG between last and now.
func (s *Scheduler) fireDue(ctx context.Context, d *dag.DAG, last, now time.Time) {
	var missed Missed
	var onTime time.Time
	for t := d.NextFire(last); !t.IsZero() && !t.After(now); t = d.NextFire(t) {
		if now.Sub(t) <= s.cfg.OnTime {
			onTime = t
			continue
		}
		if missed.Count == 0 {
			missed.First = t
		}
		missed.Last = t
		missed.Count++
		if missed.Count >= maxMissedCount {
			// Jump to the recent past instead of walking every fire.
			skipTo := now.Add(-s.cfg.OnTime)
			if next := d.NextFire(skipTo); !next.After(now) && now.Sub(next) <= s.cfg.OnTime {
				onTime = next
			}
			break
		}
	}
	if missed.Count > 0 {
		missed.DAG = d.Name
		if d.CatchUp {
			id, err := s.cfg.Enqueue(ctx, store.NewRun{DAG: d.Name, Trigger: store.TriggerSchedule, ScheduledFor: missed.Last})
			if err != nil && !errors.Is(err, store.ErrDuplicateBatch) {
				s.log.Error("queueing catch-up run", "dag", d.Name, "err", err)
			} else {
				missed.CaughtUp, missed.CatchUpRun = true, id
			}
		} else if err := s.cfg.Store.SetLastFire(ctx, d.Name, missed.Last); err != nil {
			s.log.Error("recording skipped fires", "dag", d.Name, "err", err)
		}
		s.setLast(d.Name, missed.Last)
		policy := "skipped (catch_up is off)"
		if missed.CaughtUp {
			policy = "caught up with one run"
		}
		s.log.Warn("schedule missed fires while sluice was down", "dag", d.Name, "missed", missed.Count,
			"first", missed.First, "last", missed.Last, "policy", policy, "run", missed.CatchUpRun)
		s.mu.Lock()
		s.missed = append(s.missed, missed)
		if len(s.missed) > 100 {
			s.missed = s.missed[len(s.missed)-100:]
		}
		s.mu.Unlock()
	}
	if !onTime.IsZero() {
		id, err := s.cfg.Enqueue(ctx, store.NewRun{DAG: d.Name, Trigger: store.TriggerSchedule, ScheduledFor: onTime})
		// Even a fire that could not be queued is past: retrying it on every
		// tick would spin.
		s.setLast(d.Name, onTime)
		if err != nil {
			s.log.Error("schedule fired but the run could not be queued", "dag", d.Name, "fire", onTime, "err", err)
			return
		}
		s.log.Info("schedule fired", "dag", d.Name, "fire", onTime, "run", id)
	}
}

// NextFires returns each scheduled DAG's next fire time.
func (s *Scheduler) NextFires() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.next))
	for k, v := range s.next {
		out[k] = v
	}
	return out
}

// Missed returns the reports of missed fires since start, oldest first.
func (s *Scheduler) Missed() []Missed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Missed(nil), s.missed...)
}
