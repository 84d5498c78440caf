package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// LagOptions tune a LagMonitor.
type LagOptions struct {
	// Interval between polls of every tracked group. Default 5s.
	Interval time.Duration
	// Window is how many samples per partition the status rules look at.
	// Default 10 (50 s at the default interval).
	Window int
	// History is how many total-lag samples per group are kept for the
	// sparkline. Default 120 (10 min).
	History int
	Logger  *slog.Logger
	// Changed is called after each poll that updated a group; it must not
	// block.
	Changed func()
	// Clock stamps each reading (api.GroupLag.At) and failure; nil is the
	// real clock. Polling is paced on real time, and the windows' rates
	// and stall rules measure the real time between reads (OffsetReader).
	Clock clock.Clock
}

func (o LagOptions) withDefaults() LagOptions {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Window < 2 {
		o.Window = 10
	}
	if o.History <= 0 {
		o.History = 120
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Changed == nil {
		o.Changed = func() {}
	}
	o.Clock = clock.Or(o.Clock)
	return o
}

// LagMonitor polls the offsets of consumer groups and keeps, per group, the
// lag as last seen, a status per partition and group from a sliding window
// (see EvaluatePartition) and a history of total lag.
type LagMonitor struct {
	conn ConnConfig
	opts LagOptions

	mu     sync.Mutex
	groups map[string]*trackedGroup
	wake   chan struct{}

	life lifecycle.Lifecycle
}

type trackedGroup struct {
	topics  []string
	refs    int
	windows map[topicPartition][]OffsetSample
	moved   map[topicPartition]lastMove
	lag     api.GroupLag
	history []int64
	failing bool
}

// NewLagMonitor returns a monitor with nothing tracked.
func NewLagMonitor(conn ConnConfig, opts LagOptions) *LagMonitor {
	return &LagMonitor{
		conn:   conn,
		opts:   opts.withDefaults(),
		groups: map[string]*trackedGroup{},
		wake:   make(chan struct{}, 1),
	}
}

// Track starts watching group on topics (reference counted: two sensors on
// one group need two Untracks). The next poll happens at once.
func (l *LagMonitor) Track(group string, topics []string) {
	l.mu.Lock()
	g := l.groups[group]
	if g == nil {
		g = &trackedGroup{windows: map[topicPartition][]OffsetSample{}, moved: map[topicPartition]lastMove{}, lag: api.GroupLag{Group: group, Status: api.LagOK}}
		l.groups[group] = g
	}
	g.refs++
	for _, t := range topics {
		if !slices.Contains(g.topics, t) {
			g.topics = append(g.topics, t)
		}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Untrack drops one reference to group; the last one forgets its history.
func (l *LagMonitor) Untrack(group string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if g := l.groups[group]; g != nil {
		if g.refs--; g.refs <= 0 {
			delete(l.groups, group)
		}
	}
}

// Lag returns the group's lag as last polled and its total-lag history
// (oldest first); ok is false for an untracked group.
func (l *LagMonitor) Lag(group string) (lag api.GroupLag, history []int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groups[group]
	if g == nil {
		return api.GroupLag{}, nil, false
	}
	lag = g.lag
	lag.Partitions = slices.Clone(g.lag.Partitions)
	return lag, slices.Clone(g.history), true
}

// Start polls in the background until Stop.
func (l *LagMonitor) Start(ctx context.Context) error {
	return l.life.Start(ctx, func(ctx context.Context) error {
		l.life.Go(func() { l.loop(ctx) })
		return nil
	})
}

// Stop ends polling and waits for the poller.
func (l *LagMonitor) Stop() { l.life.Stop(nil) }

func (l *LagMonitor) loop(ctx context.Context) {
	var reader *OffsetReader
	defer func() {
		if reader != nil {
			reader.Close()
		}
	}()
	ticker := time.NewTicker(l.opts.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-l.wake:
		}
		reader = l.poll(ctx, reader)
	}
}

// poll reads every tracked group once. A failed read marks the group ERR and
// drops the client, so the next poll starts from the bootstrap brokers
// (after a broker restart the old connections are dead).
func (l *LagMonitor) poll(ctx context.Context, reader *OffsetReader) *OffsetReader {
	l.mu.Lock()
	type job struct {
		group  string
		topics []string
	}
	var jobs []job
	for name, g := range l.groups {
		jobs = append(jobs, job{name, slices.Clone(g.topics)})
	}
	l.mu.Unlock()
	if len(jobs) == 0 {
		return reader
	}
	if reader == nil {
		var err error
		if reader, err = NewOffsetReader(l.conn); err != nil {
			for _, j := range jobs {
				l.fail(j.group, err)
			}
			l.opts.Changed()
			return nil
		}
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		offs, err := reader.Read(j.group, j.topics)
		if errors.Is(err, ErrNoTopic) {
			// The cluster answered: this group's topic is missing, the
			// connection is fine for the others.
			l.fail(j.group, err)
			continue
		}
		if err != nil {
			l.fail(j.group, err)
			reader.Close()
			reader = nil
			break
		}
		l.observe(offs)
	}
	l.opts.Changed()
	return reader
}

func (l *LagMonitor) fail(group string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groups[group]
	if g == nil {
		return
	}
	if !g.failing {
		l.opts.Logger.Warn("reading consumer lag", "group", group, "err", err)
	}
	g.failing = true
	g.lag.Status = api.LagErr
	g.lag.Reason = "offsets cannot be read: " + err.Error()
	g.lag.At = l.opts.Clock.Now()
}

// observe folds one reading into the group's windows and statuses.
func (l *LagMonitor) observe(offs GroupOffsets) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.groups[offs.Group]
	if g == nil {
		return
	}
	if g.failing {
		l.opts.Logger.Info("reading consumer lag again", "group", offs.Group)
	}
	g.failing = false
	g.lag = evaluateReading(g.windows, g.moved, offs, l.opts.Window)
	g.lag.At = l.opts.Clock.Now()
	g.history = append(g.history, g.lag.TotalLag)
	if n := len(g.history) - l.opts.History; n > 0 {
		g.history = slices.Delete(g.history, 0, n)
	}
}

// evaluateReading appends offs to the per-partition windows (trimming them
// to size, dropping partitions that disappeared), notes when each committed
// offset last moved, and evaluates the statuses. A window not yet full
// judges nothing but a rewind: a sensor just started has two readings of
// an offset that had no reason to move yet, not a stall.
func evaluateReading(windows map[topicPartition][]OffsetSample, moved map[topicPartition]lastMove, offs GroupOffsets, size int) api.GroupLag {
	gl := api.GroupLag{Group: offs.Group, State: offs.State, Members: offs.Members, At: offs.At}
	seen := map[topicPartition]bool{}
	var statuses []api.LagStatus
	for _, p := range offs.Partitions {
		k := topicPartition{p.Topic, p.Partition}
		seen[k] = true
		prev := windows[k]
		switch {
		case len(prev) == 0:
			moved[k] = lastMove{at: offs.At}
		case prev[len(prev)-1].Committed != p.Committed:
			moved[k] = lastMove{at: offs.At, seen: true}
		}
		w := append(prev, OffsetSample{At: offs.At, Committed: p.Committed, LogEnd: p.LogEnd, Lag: p.Lag})
		if n := len(w) - size; n > 0 {
			w = slices.Delete(w, 0, n)
		}
		windows[k] = w
		st, why := explainPartition(w, p.Owner != "", offs.At, moved[k])
		if len(w) < size && st != api.LagOK && st != api.LagErr {
			st, why = api.LagOK, fmt.Sprintf("warming up: %d of %d readings, judged once the window is full (so far: %s)", len(w), size, why)
		}
		statuses = append(statuses, st)
		gl.TotalLag += p.Lag
		gl.Partitions = append(gl.Partitions, api.PartitionLag{Topic: p.Topic, Partition: p.Partition,
			LogEnd: p.LogEnd, Committed: p.Committed, Lag: p.Lag, Rate: ConsumeRate(w), ProduceRate: ProduceRate(w),
			Status: st, Reason: why})
	}
	for k := range windows {
		if !seen[k] {
			delete(windows, k)
			delete(moved, k)
		}
	}
	gl.Status = EvaluateGroup(statuses)
	gl.Reason = groupReason(gl)
	return gl
}

// groupReason says why the group has its status: the worst partition's
// rule, named, as Burrow folds partitions into the group.
func groupReason(gl api.GroupLag) string {
	if len(gl.Partitions) == 0 {
		return "no partition read yet"
	}
	rank := map[api.LagStatus]int{api.LagOK: 0, api.LagWarn: 1, api.LagStall: 2, api.LagStop: 2, api.LagErr: 2}
	worst := 0
	for i, p := range gl.Partitions {
		if rank[p.Status] > rank[gl.Partitions[worst].Status] {
			worst = i
		}
	}
	p := gl.Partitions[worst]
	if p.Status == api.LagOK {
		if len(gl.Partitions) == 1 {
			return "every partition OK: " + p.Reason
		}
		return fmt.Sprintf("every partition OK (%s/%d: %s)", p.Topic, p.Partition, p.Reason)
	}
	s := fmt.Sprintf("%s/%d %s: %s", p.Topic, p.Partition, p.Status, p.Reason)
	if gl.Status == api.LagErr && p.Status != api.LagErr {
		s += fmt.Sprintf("; any partition %s makes the group ERR", p.Status)
	}
	return s
}
