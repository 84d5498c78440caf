package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// ErrUnknownSensor: no sensor with that DAG and index.
var ErrUnknownSensor = errors.New("unknown sensor")

// Options configure a Manager.
type Options struct {
	Conn ConnConfig
	Sink RunSink
	// Ticks keeps tick history; nil keeps it in memory only. StoreSink is
	// both a RunSink and a TickStore.
	Ticks  TickStore
	Logger *slog.Logger
	// MaxConcurrentRuns is the engine's; the default backpressure bound of
	// a sensor is twice it.
	MaxConcurrentRuns int
	// TickHistory is how many ticks per sensor the snapshot shows. Default 50.
	TickHistory int
	// Lag tunes the lag monitor (its Changed and Logger are set by the
	// Manager).
	Lag LagOptions
	// OnTick is called after every tick is recorded, from the ticking
	// goroutine; it must not block. The engine turns it into an event.
	OnTick func(TickRecord)
	// Clock stamps each tick's start and the lag monitor's readings (nil:
	// the real clock). Pacing — tick interval, max_tick_runtime, poll
	// timeouts, backoff, lag polls — and a tick's duration stay on real
	// time: the broker and its client run on it.
	Clock clock.Clock

	tun tunables
}

// Manager runs the kafka sensors of every active DAG and their lag monitor,
// and hands out their state as snapshot values.
//
//	m, _ := sensor.NewManager(opts)
//	m.Start(ctx)
//	m.Sync(dags)        // whenever the set of loaded DAGs changes
//	m.Snapshot()        // after a notification on Changes()
//	m.Stop()
type Manager struct {
	opts    Options
	env     *env
	lag     *LagMonitor
	changes chan struct{}

	syncMu  sync.Mutex // serialises Sync and Stop
	mu      sync.Mutex
	ctx     context.Context
	sensors map[sensorKey]*Sensor
	broken  map[sensorKey]brokenSensor // sensors whose spec does not resolve
	paused  map[sensorKey]string       // who paused it; survives a sensor's restart
	life    lifecycle.Lifecycle
}

type sensorKey struct {
	dag   string
	index int
}

type brokenSensor struct {
	spec dag.Sensor
	err  error
}

// NewManager checks the options; nothing connects before Start.
func NewManager(opts Options) (*Manager, error) {
	if opts.Sink == nil {
		return nil, errors.New("sensor manager: no run sink")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TickHistory <= 0 {
		opts.TickHistory = 50
	}
	m := &Manager{
		opts:    opts,
		changes: make(chan struct{}, 1),
		sensors: map[sensorKey]*Sensor{},
		broken:  map[sensorKey]brokenSensor{},
		paused:  map[sensorKey]string{},
	}
	m.env = &env{
		conn:        opts.Conn,
		sink:        opts.Sink,
		ticks:       opts.Ticks,
		log:         opts.Logger.With("component", "sensor"),
		tickHistory: opts.TickHistory,
		changed:     m.notify,
		onTick:      opts.OnTick,
		clock:       clock.Or(opts.Clock),
		tun:         opts.tun.withDefaults(),
	}
	lagOpts := opts.Lag
	lagOpts.Logger = m.env.log
	lagOpts.Changed = m.notify
	if lagOpts.Clock == nil {
		lagOpts.Clock = m.env.clock
	}
	m.lag = NewLagMonitor(opts.Conn, lagOpts)
	return m, nil
}

// Changes delivers a value whenever Snapshot would return something new.
// Notifications coalesce: one pending value stands for any number of
// changes, and the Manager never blocks on a slow reader.
func (m *Manager) Changes() <-chan struct{} { return m.changes }

func (m *Manager) notify() {
	select {
	case m.changes <- struct{}{}:
	default:
	}
}

// Start starts the lag monitor; sensors start as Sync names them.
func (m *Manager) Start(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	return m.life.Start(ctx, func(ctx context.Context) error {
		m.mu.Lock()
		m.ctx = ctx
		m.mu.Unlock()
		return m.lag.Start(ctx)
	})
}

// Stop stops every sensor (committing what they persisted) and the lag
// monitor.
func (m *Manager) Stop() {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.life.Stop(func() {
		m.mu.Lock()
		sensors := m.sensors
		m.sensors = map[sensorKey]*Sensor{}
		m.mu.Unlock()
		stopAll(sensors)
		m.lag.Stop()
	})
}

func stopAll(sensors map[sensorKey]*Sensor) {
	var wg sync.WaitGroup
	for _, s := range sensors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
		}()
	}
	wg.Wait()
}

// Sync makes the running sensors match the kafka sensors of dags: new ones
// start, removed ones and those of disabled DAGs stop, changed ones restart
// (keeping their paused state). It returns once removed sensors have left
// their groups. A sensor whose definition cannot work is listed in the
// snapshot with its error instead of running.
func (m *Manager) Sync(dags []*dag.DAG) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	if !m.life.Running() {
		m.mu.Unlock()
		return errors.New("sensor manager not running")
	}
	ctx := m.ctx
	want := map[sensorKey]Spec{}
	broken := map[sensorKey]brokenSensor{}
	for _, d := range dags {
		if d == nil || !d.Enabled {
			continue
		}
		for i, s := range d.Sensors {
			if s.Type != dag.SensorKafka {
				continue
			}
			k := sensorKey{d.Name, i}
			sp, err := SpecOf(d, i, m.opts.MaxConcurrentRuns)
			if err == nil && len(m.opts.Conn.Brokers) == 0 {
				err = fmt.Errorf("%w: no kafka brokers configured%s", ErrConfig, hint(m.opts.Conn.Hints.Brokers))
			}
			if err != nil {
				broken[k] = brokenSensor{spec: s, err: err}
				continue
			}
			want[k] = sp
		}
	}
	stop := map[sensorKey]*Sensor{}
	for k, s := range m.sensors {
		if sp, ok := want[k]; !ok || !sp.equal(s.spec) {
			stop[k] = s
			delete(m.sensors, k)
		}
	}
	m.broken = broken
	for k := range m.paused {
		if _, ok := want[k]; !ok {
			delete(m.paused, k)
		}
	}
	m.mu.Unlock()

	// Leave groups before rejoining them with a changed definition.
	stopAll(stop)
	for _, s := range stop {
		m.lag.Untrack(s.spec.Group)
	}

	m.mu.Lock()
	var start []*Sensor
	for k, sp := range want {
		if _, ok := m.sensors[k]; ok {
			continue
		}
		_, paused := m.paused[k]
		s := newSensor(sp, m.env, paused)
		m.sensors[k] = s
		start = append(start, s)
	}
	m.mu.Unlock()
	for _, s := range start {
		m.lag.Track(s.spec.Group, s.spec.Topics)
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("starting sensor %d of %q: %w", s.spec.Index, s.spec.DAG, err)
		}
	}
	m.notify()
	return nil
}

// Pause pauses (paused=true) or resumes a sensor; who paused it is shown
// with the sensor ("" when unknown).
func (m *Manager) Pause(dagName string, index int, paused bool, who string) error {
	k := sensorKey{dagName, index}
	m.mu.Lock()
	s := m.sensors[k]
	if s == nil {
		m.mu.Unlock()
		return fmt.Errorf("%w: %s sensor %d", ErrUnknownSensor, dagName, index)
	}
	if paused {
		m.paused[k] = who
	} else {
		delete(m.paused, k)
	}
	m.mu.Unlock()
	s.SetPaused(paused)
	return nil
}

// Snapshot returns every sensor, running or broken, ordered by DAG and
// index, with its recent ticks and its group's lag.
func (m *Manager) Snapshot() []api.Sensor {
	m.mu.Lock()
	sensors := make([]*Sensor, 0, len(m.sensors))
	pausedBy := map[*Sensor]string{}
	for k, s := range m.sensors {
		sensors = append(sensors, s)
		pausedBy[s] = m.paused[k]
	}
	var out []api.Sensor
	for k, b := range m.broken {
		topics := slices.Clone(b.spec.Topics)
		if b.spec.Topic != "" && !slices.Contains(topics, b.spec.Topic) {
			topics = append([]string{b.spec.Topic}, topics...)
		}
		group := b.spec.Group
		if group == "" {
			group = DefaultGroup(k.dag, k.index)
		}
		out = append(out, api.Sensor{DAG: k.dag, Index: k.index, Topics: topics, Group: group,
			Status: api.SensorError, Error: b.err.Error()})
	}
	m.mu.Unlock()
	for _, s := range sensors {
		ss := s.snapshot()
		if ss.Paused {
			ss.PausedBy = pausedBy[s]
		}
		if lag, hist, ok := m.lag.Lag(ss.Group); ok {
			ss.Lag, ss.History = lag, hist
		}
		out = append(out, ss)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DAG != out[j].DAG {
			return out[i].DAG < out[j].DAG
		}
		return out[i].Index < out[j].Index
	})
	return out
}
