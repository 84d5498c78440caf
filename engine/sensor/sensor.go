package sensor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/cenkalti/backoff/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// env is what every sensor of a Manager shares.
type env struct {
	conn        ConnConfig
	sink        RunSink
	ticks       TickStore
	log         *slog.Logger
	tickHistory int
	changed     func()
	onTick      func(TickRecord)
	clock       clock.Clock
	tun         tunables
}

// tunables are knobs tests turn; production uses the defaults.
type tunables struct {
	// pollTimeout bounds one pull: how long a tick waits for records
	// before it decides the stream is drained.
	pollTimeout time.Duration
	// Group session settings (sarama defaults 3s / 10s).
	heartbeat      time.Duration
	sessionTimeout time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	// afterPersist runs between persisting a batch and marking its
	// offsets; a test returns an error from it to crash right there.
	afterPersist func(*Batch) error
}

func (t tunables) withDefaults() tunables {
	if t.pollTimeout <= 0 {
		t.pollTimeout = time.Second
	}
	if t.backoffInitial <= 0 {
		t.backoffInitial = 500 * time.Millisecond
	}
	if t.backoffMax <= 0 {
		t.backoffMax = 30 * time.Second
	}
	return t
}

func (e *env) newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = e.tun.backoffInitial
	b.MaxInterval = e.tun.backoffMax
	b.Reset()
	return b
}

// consumerConfig is the sarama configuration of one member of sp.
func (e *env) consumerConfig(sp Spec, member int) (*sarama.Config, error) {
	cfg, err := e.conn.Sarama()
	if err != nil {
		return nil, err
	}
	cfg.ClientID = fmt.Sprintf("%s-%s-%d", cfg.ClientID, sp.Group, member)
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.AutoCommit.Enable = false // commits follow persistence, never a timer
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if sp.InitialOffset == OffsetNewest {
		cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	cfg.Consumer.Fetch.Min = sp.FetchMinBytes
	cfg.Consumer.MaxWaitTime = sp.FetchMaxWait
	cfg.ChannelBufferSize = max(256, sp.MaxBatchSize)
	if e.tun.heartbeat > 0 {
		cfg.Consumer.Group.Heartbeat.Interval = e.tun.heartbeat
	}
	if e.tun.sessionTimeout > 0 {
		cfg.Consumer.Group.Session.Timeout = e.tun.sessionTimeout
	}
	consistentGroupTimeouts(cfg)
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 500 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 500 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return cfg, nil
}

// Sensor runs one kafka sensor of a DAG: Replicas group members, each with
// its own tick loop. Lifecycle: Start once, Stop once.
type Sensor struct {
	spec Spec
	env  *env
	log  *slog.Logger

	partMu    sync.Mutex
	partLocks map[topicPartition]*sync.Mutex

	mu       sync.Mutex
	paused   bool
	pauseCh  chan struct{} // closed and replaced whenever paused changes
	ticks    []api.Tick
	lastTick map[int]TickRecord // by member: the status is the worst of them
	members  []*member

	life lifecycle.Lifecycle
}

func newSensor(sp Spec, e *env, paused bool) *Sensor {
	return &Sensor{
		spec:     sp,
		env:      e,
		log:      e.log.With("dag", sp.DAG, "sensor", sp.Index, "group", sp.Group),
		paused:   paused,
		pauseCh:  make(chan struct{}),
		lastTick: map[int]TickRecord{},
	}
}

// Start joins the group with every replica and starts ticking. It returns
// at once; connection problems show up in ticks, never here.
func (s *Sensor) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) error {
		if s.env.ticks != nil {
			s.loadTicks(ctx)
		}
		for i := range s.spec.Replicas {
			m := newMember(s, i)
			s.members = append(s.members, m)
			s.life.Go(func() { m.consume(ctx) })
			s.life.Go(func() { m.committer(ctx) })
			s.life.Go(func() { m.tickLoop(ctx) })
		}
		s.log.Info("kafka sensor started", "topics", s.spec.Topics, "replicas", s.spec.Replicas)
		return nil
	})
}

// Stop leaves the group and waits for every goroutine. Offsets of persisted
// batches are committed on the way out; nothing else is.
func (s *Sensor) Stop() {
	s.life.Stop(func() { s.log.Info("kafka sensor stopped") })
}

func (s *Sensor) loadTicks(ctx context.Context) {
	recs, err := s.env.ticks.RecentTicks(ctx, s.spec.DAG, s.spec.Index, s.env.tickHistory)
	if err != nil {
		s.log.Warn("loading tick history", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.ticks = append(s.ticks, tickOf(r))
	}
	for i := len(recs) - 1; i >= 0; i-- {
		s.lastTick[recs[i].Member] = recs[i]
	}
}

// partitionLock serialises persisting for one partition across replicas.
func (s *Sensor) partitionLock(tp topicPartition) *sync.Mutex {
	s.partMu.Lock()
	defer s.partMu.Unlock()
	if s.partLocks == nil {
		s.partLocks = map[topicPartition]*sync.Mutex{}
	}
	mu := s.partLocks[tp]
	if mu == nil {
		mu = &sync.Mutex{}
		s.partLocks[tp] = mu
	}
	return mu
}

// Paused reports whether the sensor is paused.
func (s *Sensor) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// SetPaused pauses or resumes ticking. A paused sensor finishes the batch
// in hand and leaves its group (the lag monitor still reads the group's
// committed offsets), so its offsets can be reset; it rejoins on resume.
func (s *Sensor) SetPaused(paused bool) {
	s.mu.Lock()
	if s.paused == paused {
		s.mu.Unlock()
		return
	}
	s.paused = paused
	close(s.pauseCh)
	s.pauseCh = make(chan struct{})
	s.mu.Unlock()
	s.log.Info("kafka sensor pause changed", "paused", paused)
	s.env.changed()
}

// untilPaused returns a context that ends with ctx or when the sensor is
// paused; stop releases it and waits for its watcher.
func (s *Sensor) untilPaused(ctx context.Context) (_ context.Context, stop func()) {
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			paused, ch := s.pauseState()
			if paused {
				cancel()
				return
			}
			select {
			case <-sctx.Done():
				return
			case <-ch:
			}
		}
	}()
	return sctx, func() { cancel(); <-done }
}

// pauseState returns whether the sensor is paused and a channel closed at
// the next change, read together so no change slips in between.
func (s *Sensor) pauseState() (bool, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused, s.pauseCh
}

// waitRunnable blocks until next has passed and the sensor is not paused.
func (s *Sensor) waitRunnable(ctx context.Context, next time.Time) bool {
	for {
		s.mu.Lock()
		paused, ch := s.paused, s.pauseCh
		s.mu.Unlock()
		if !paused && !time.Now().Before(next) {
			return ctx.Err() == nil
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if !paused {
			timer = time.NewTimer(time.Until(next))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-ch:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return false
		}
	}
}

func (s *Sensor) recordTick(rec TickRecord) {
	if s.env.ticks != nil {
		// The tick outlives a cancelled sensor context: record it anyway.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		id, err := s.env.ticks.RecordTick(ctx, rec)
		cancel()
		if err != nil {
			s.log.Warn("recording tick", "err", err)
		}
		rec.ID = id
	}
	s.mu.Lock()
	s.ticks = append([]api.Tick{tickOf(rec)}, s.ticks...)
	if len(s.ticks) > s.env.tickHistory {
		s.ticks = s.ticks[:s.env.tickHistory]
	}
	s.lastTick[rec.Member] = rec
	s.mu.Unlock()
	lvl := slog.LevelDebug
	if rec.Error != "" {
		lvl = slog.LevelWarn
	}
	s.log.Log(context.Background(), lvl, "kafka sensor tick", "member", rec.Member, "batches", rec.Batches,
		"messages", rec.Messages, "duration", rec.Duration, "skipped", rec.Skipped, "err", rec.Error)
	if s.env.onTick != nil {
		s.env.onTick(rec)
	}
	s.env.changed()
}

func tickOf(r TickRecord) api.Tick {
	return api.Tick{ID: r.ID, Start: r.Start, Duration: r.Duration, Batches: r.Batches,
		Messages: r.Messages, Skipped: r.Skipped, Error: r.Error, Ranges: r.Ranges}
}

// snapshot returns the sensor's part of the read model, without lag.
func (s *Sensor) snapshot() api.Sensor {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := api.Sensor{
		DAG:    s.spec.DAG,
		Index:  s.spec.Index,
		Topics: append([]string(nil), s.spec.Topics...),
		Group:  s.spec.Group,
		Paused: s.paused,
		Ticks:  append([]api.Tick(nil), s.ticks...),
		Status: api.SensorRunning,
	}
	if s.paused {
		out.Status = api.SensorPaused
		return out
	}
	for m := range s.spec.Replicas {
		last := s.lastTick[m]
		switch {
		case last.Error != "":
			out.Status, out.Error = api.SensorError, last.Error
		case strings.HasPrefix(last.Skipped, SkipBackpressure) && out.Status == api.SensorRunning:
			out.Status = api.SensorBackpressure
		}
	}
	return out
}
