package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/store"
)

// Defaults of Config.
const (
	DefaultWindow       = 5 * time.Minute
	DefaultSummaryEvery = 7 * 24 * time.Hour
	DefaultFailingAfter = 3
	DefaultClaimLease   = time.Minute
	retention           = 30 * 24 * time.Hour
	batch               = 200
)

// Config says where notifications go and how.
type Config struct {
	Targets []Target
	// Window is the least time between two messages of one subject: what
	// comes sooner is folded into the next message (default 5m).
	Window time.Duration
	// SummaryEvery is the period of meta.summary (default weekly; negative:
	// none). Summaries go out at the period's boundaries counted from
	// Monday 1970-01-05 00:00 UTC (weekly: Mondays at midnight UTC).
	SummaryEvery time.Duration
	// Secret signs generic targets' bodies (X-Sluice-Signature); empty:
	// unsigned. Never logged.
	Secret string
	// FailingAfter is how many failed attempts in a row make a target
	// shown as failing (default 3).
	FailingAfter int
	// RetryInitial and RetryMax bound the exponential backoff between
	// attempts (defaults 1s and 5m).
	RetryInitial, RetryMax time.Duration
	// ClaimLease is how long an instance holds the notifications it is
	// sending (default 1m, at least twice the client's timeout): another
	// instance sharing the store sends them only once the lease ran out,
	// so a dead instance's deliveries are retried within it.
	ClaimLease time.Duration
	// Holder names this instance in its claims (default: host, pid and a
	// random part, distinct at every start).
	Holder string
	// Client sends the requests (default: a client with a 10s timeout).
	Client *http.Client
	Clock  clock.Clock
	Logger *slog.Logger
}

// Source is what the service watches: the engine's snapshots and their
// change events.
type Source interface {
	Snapshot() *api.Snapshot
	Subscribe() (<-chan api.Event, func())
}

// Service derives events from the engine's snapshots, writes them to the
// outbox and sends them: one goroutine derives and writes, one per target
// sends. Neither ever holds up the engine: the change events it waits on
// are coalesced and never block their publisher.
type Service struct {
	cfg     Config
	st      store.Notifications
	src     Source
	clk     clock.Clock
	log     *slog.Logger
	derive  *deriver
	senders []*sender
	life    lifecycle.Lifecycle
	// observed is signalled after each snapshot's events are stored
	// (tests wait on it).
	observed chan struct{}
}

// New prepares the service; Start runs it.
func New(cfg Config, st store.Notifications, src Source) (*Service, error) {
	if err := checkNames(cfg.Targets); err != nil {
		return nil, err
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.SummaryEvery == 0 {
		cfg.SummaryEvery = DefaultSummaryEvery
	}
	if cfg.FailingAfter <= 0 {
		cfg.FailingAfter = DefaultFailingAfter
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = DefaultClaimLease
	}
	// A send outliving its claim could be repeated by another instance.
	if t := cfg.Client.Timeout; t > 0 && cfg.ClaimLease < 2*t {
		cfg.ClaimLease = 2 * t
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
	}
	s := &Service{cfg: cfg, st: st, src: src, clk: clock.Or(cfg.Clock), derive: newDeriver(), observed: make(chan struct{}, 1)}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range cfg.Targets {
		s.senders = append(s.senders, newSender(s, t))
	}
	return s, nil
}

// Start takes the current snapshot as the baseline and starts deriving
// and sending; what the outbox holds from before a restart is sent first.
func (s *Service) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) error {
		changes, unsubscribe := s.src.Subscribe()
		s.observe(ctx) // the baseline
		s.life.Go(func() {
			defer unsubscribe()
			s.watch(ctx, changes)
		})
		for _, sd := range s.senders {
			s.life.Go(func() { sd.loop(ctx) })
		}
		return nil
	})
}

// Stop ends deriving and sending; an attempt in flight is abandoned and
// its events stay pending, their claims released, for another instance or
// the next start.
func (s *Service) Stop() {
	s.life.Stop(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.st.ReleaseNotifications(ctx, s.cfg.Holder); err != nil && !errors.Is(err, store.ErrClosed) {
		s.log.Warn("releasing notification claims (they expire within the lease)", "err", err)
	}
}

// watch derives events on every change of the parts that produce them,
// and the summary at each period boundary.
func (s *Service) watch(ctx context.Context, changes <-chan api.Event) {
	const topics = api.TopicDAGs | api.TopicRuns | api.TopicSensors | api.TopicReviews
	lastPrune := s.clk.Now()
	for {
		var summaryDue <-chan time.Time
		var period time.Time
		if s.cfg.SummaryEvery > 0 {
			period = nextBoundary(s.clk.Now(), s.cfg.SummaryEvery)
			summaryDue = s.clk.After(period.Sub(s.clk.Now()))
		}
		select {
		case <-ctx.Done():
			return
		case ev := <-changes:
			if ev.Topics&topics != 0 {
				s.observe(ctx)
			}
		case now := <-summaryDue:
			s.write(ctx, []Event{summary(s.src.Snapshot(), period, s.cfg.SummaryEvery, now)}, nil)
		}
		if now := s.clk.Now(); now.Sub(lastPrune) > 24*time.Hour {
			lastPrune = now
			if _, err := s.st.PruneNotifications(ctx, now.Add(-retention)); err != nil && ctx.Err() == nil {
				s.log.Warn("pruning sent notifications", "err", err)
			}
		}
	}
}

// summaryOrigin is Monday 1970-01-05 00:00 UTC: weekly summaries go out
// on Mondays.
var summaryOrigin = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

// nextBoundary is the first boundary of every-long periods after now.
func nextBoundary(now time.Time, every time.Duration) time.Time {
	n := now.Sub(summaryOrigin) / every
	return summaryOrigin.Add((n + 1) * every)
}

func (s *Service) observe(ctx context.Context) {
	evs := s.derive.derive(s.src.Snapshot(), s.clk.Now())
	s.write(ctx, evs, s.derive.states)
	select {
	case s.observed <- struct{}{}:
	default:
	}
}

// write records states, stores evs for every target that wants them,
// then wakes the senders. A failed write loses those events (the engine
// goes on): it is logged.
func (s *Service) write(ctx context.Context, evs []Event, states []store.NotifyState) {
	evs = s.announce(ctx, evs, states)
	if len(evs) == 0 {
		return
	}
	var ns []store.Notification
	stored := make([]int, len(s.senders))
	for _, ev := range evs {
		payload, err := json.Marshal(ev)
		if err != nil {
			s.log.Error("encoding notification", "type", ev.Type, "err", err)
			continue
		}
		for i, sd := range s.senders {
			if sd.target.Wants(ev.Type) {
				stored[i]++
				ns = append(ns, store.Notification{Target: sd.target.Name, EventID: ev.ID, Type: ev.Type, Subject: ev.Subject, Payload: payload, CreatedAt: ev.At})
			}
		}
	}
	if len(ns) == 0 {
		return
	}
	if _, err := s.st.AddNotifications(ctx, ns); err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Error("storing notifications", "events", len(evs), "err", err)
		}
		return
	}
	for i, sd := range s.senders {
		sd.addPending(stored[i])
		sd.poke()
	}
}

// announce records the transition subjects' new states in the store and
// keeps the transition events whose change this instance made there, each
// named by the change's generation: instances sharing the store that see
// one change announce it once. Other events pass as they are.
func (s *Service) announce(ctx context.Context, evs []Event, states []store.NotifyState) []Event {
	if len(states) == 0 {
		return evs
	}
	gens, err := s.st.RecordNotifyStates(ctx, states)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("recording notification states: their changes are not announced", "subjects", len(states), "err", err)
	}
	gen := make(map[string]int64, len(gens))
	for i, g := range gens {
		gen[states[i].Subject] = g
	}
	kept := evs[:0]
	for _, ev := range evs {
		if ev.state != "" {
			g := gen[ev.Subject]
			if g == 0 {
				continue // another instance announced it, or the store failed
			}
			ev.ID = eventID(ev.Type, ev.Subject, g)
		}
		kept = append(kept, ev)
	}
	return kept
}

// Status is each target's delivery state, for the snapshot.
func (s *Service) Status() []api.NotifyTarget {
	out := make([]api.NotifyTarget, 0, len(s.senders))
	for _, sd := range s.senders {
		out = append(out, sd.status())
	}
	return out
}

// errStatus is a receiver's refusal.
type errStatus struct{ code int }

func (e errStatus) Error() string {
	return fmt.Sprintf("receiver answered %d %s", e.code, http.StatusText(e.code))
}

// sender delivers one target's outbox in order.
type sender struct {
	svc    *Service
	target Target
	wake   chan struct{}
	// lastSent is when each subject's last message went out (grouping).
	lastSent map[string]time.Time

	mu sync.Mutex
	st api.NotifyTarget
}

func newSender(s *Service, t Target) *sender {
	return &sender{svc: s, target: t, wake: make(chan struct{}, 1), lastSent: map[string]time.Time{},
		st: api.NotifyTarget{Name: t.Name, Kind: t.Kind}}
}

func (sd *sender) poke() {
	select {
	case sd.wake <- struct{}{}:
	default:
	}
}

func (sd *sender) status() api.NotifyTarget {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	return sd.st
}
