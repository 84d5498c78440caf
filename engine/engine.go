package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/notify"
	redaction "github.com/sluice-dev/sluice/engine/redact"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/runner"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/storeopen"
)

// Config is everything the engine needs; cmd/sluice builds it from flags,
// environment and defaults.
type Config struct {
	// StateDir holds the database, the lock and the run files. Required.
	StateDir string
	Loader   loader.Config

	// MaxConcurrentRuns is the global limit on running runs (default 5).
	MaxConcurrentRuns int
	TagLimits         []runner.TagLimit
	// TaskParallelism bounds the tasks of one run running at once
	// (default 8).
	TaskParallelism int
	// KillGrace is the time between SIGTERM and SIGKILL for tasks stopped
	// by a timeout, a cancel or the shutdown (default 10s).
	KillGrace time.Duration
	// TaskEnv is added to every task process's environment (NAME=value):
	// the demo points TMPDIR into its state dir.
	TaskEnv []string
	// Lambda configures the client of lambda tasks.
	Lambda runner.LambdaConfig
	// Synchronous is the store's durability (store.SyncFull by default).
	Synchronous string
	// Store is the store's URL: empty for the SQLite file in StateDir,
	// postgres://… for a database several instances share (then no
	// state-dir lock is taken: the instances coordinate in the database).
	Store string
	// Lease is how old another instance's heartbeat may get before this
	// one counts it dead and takes over its runs (default 30s).
	Lease time.Duration
	// PollInterval is how often the store is read for runs other processes
	// queued (default 250ms).
	PollInterval time.Duration
	// KeepVersions is how many versions of each DAG the store keeps
	// (api.DefaultKeepVersions when 0).
	KeepVersions int
	// MissingDAGGrace is how long a queued run whose DAG file is missing,
	// and whose version the store lacks, waits for the file (default 5m);
	// a run whose version is stored runs it at once.
	MissingDAGGrace time.Duration

	// Logger receives every engine log record; the engine also keeps the
	// newest LogRingSize records (Info and above) for the logs pane.
	Logger      *slog.Logger
	LogRingSize int

	// Clock drives schedules and stamps runs and review items; nil is the
	// real clock.
	Clock clock.Clock
	// Kinds runs tasks; nil: runner.DefaultKinds with Lambda. Components
	// add theirs through Engine.Kinds.
	Kinds *runner.Kinds

	// Kafka is the cluster the DAGs' kafka sensors consume. Without
	// brokers the sensors are listed, each with the reason it does not
	// run, instead of running.
	Kafka sensor.ConnConfig
	// SensorLag tunes the consumer-lag monitor (zero: its defaults).
	SensorLag sensor.LagOptions
	// Meta configures the built-in metapipeline DAG; without a manifest
	// there is none and RunMeta says so.
	Meta MetaConfig
	// Review says where the metapipeline's branches are built and pushed
	// and where pull requests are opened. Its StateDir is the engine's.
	Review review.Config
	// Notify sends the engine's events to chat and webhooks; without
	// targets nothing is derived or sent. Its clock and logger default
	// to the engine's.
	Notify notify.Config
}

// dagSource is what the engine needs of the loader.
type dagSource interface {
	Start(ctx context.Context) error
	Stop()
	ScanNow(ctx context.Context) (api.ScanResult, error)
	DAGs() []api.DAG
	Sources() []api.Source
	Lookup(name string) (*dag.DAG, bool)
	Changes() <-chan struct{}
	Scans() <-chan struct{}
}

// Engine wires the loader, the store, the run queue, the scheduler, the
// Kafka sensors, the review service and the built-in metapipeline, owns
// their lifetimes and publishes their changes.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	ring   *LogRing
	events *broker

	lock *store.Lock
	st   store.Interface
	dags dagSource
	// versions is dags when the DAG files are versioned (the loader's
	// are), nil otherwise.
	versions *versionedSource
	runner   *runner.Runner
	sched    *runner.Scheduler

	sensors *sensor.Manager
	lagRec  *lagRecorder
	reviews *review.Service
	// cluster shows the other instances' runs and ticks (shared store).
	cluster *clusterView
	meta    *metapipeline   // nil when not configured
	notify  *notify.Service // nil without notification targets
	off     *offlineParts   // set when opened offline (Open)

	// pauseMu guards the paused DAGs as last read from the store, and the
	// DAGs whose sensors this engine paused for them.
	pauseMu       sync.Mutex
	paused        map[string]api.DAGPause
	sensorsPaused map[string]bool

	// auditRedactor removes secrets from audit records (redactor).
	redactOnce    sync.Once
	auditRedactor *redaction.Redactor

	life      lifecycle.Lifecycle // the relays of changes into events
	running   []service           // started parts, in start order
	closeOnce sync.Once
}

var _ api.API = (*Engine)(nil)

// New takes the state dir (refusing one another engine holds), opens the
// store and prepares every part; Start runs them.
func New(cfg Config) (*Engine, error) {
	return newEngine(cfg, nil)
}

// newEngine is New with a DAG source other than the loader (tests).
func newEngine(cfg Config, src dagSource) (*Engine, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("engine: StateDir is required")
	}
	e := &Engine{cfg: cfg, ring: NewLogRing(cfg.LogRingSize), events: newBroker(), sensorsPaused: map[string]bool{}}
	base := slog.DiscardHandler
	if cfg.Logger != nil {
		base = cfg.Logger.Handler()
	}
	e.log = slog.New(NewTeeHandler(base, e.ring, slog.LevelInfo))
	e.ring.onAppend = func() { e.events.publish(api.TopicLogs) }

	shared := storeopen.Shared(cfg.Store)
	if _, err := storeopen.Kind(cfg.Store); err != nil {
		return nil, err
	}
	if !shared {
		lock, err := store.AcquireLock(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		e.lock = lock
	}
	fail := func(err error) (*Engine, error) {
		e.close()
		return nil, err
	}
	var err error
	e.st, err = storeopen.Open(context.Background(), cfg.Store, cfg.StateDir, storeopen.Options{Synchronous: cfg.Synchronous, Logger: e.log})
	if err != nil {
		return fail(err)
	}
	if src == nil {
		l, err := loader.New(cfg.loaderConfig(), e.log.With("component", "loader"))
		if err != nil {
			return fail(err)
		}
		src = l
	}
	fileSrc := src
	if e.meta, err = e.newMetapipeline(); err != nil {
		return fail(err)
	}
	if e.meta != nil {
		src = withBuiltins(src, e.now(), e.meta.def)
	}
	if files, ok := fileSrc.(contentSource); ok {
		e.versions = withVersions(src, files, e.st, cfg.KeepVersions, e.log.With("component", "versions"))
		src = e.versions
	}
	e.dags = src
	kinds := cfg.Kinds
	if kinds == nil {
		kinds = runner.DefaultKinds(cfg.Lambda, e.log.With("component", "lambda"))
	}
	if e.meta != nil {
		e.registerMetaKinds(kinds)
	}
	e.runner, err = runner.New(runner.Config{
		Store:           e.st,
		DAGs:            src,
		StateDir:        cfg.StateDir,
		Limits:          runner.Limits{MaxConcurrentRuns: cfg.MaxConcurrentRuns, TagLimits: cfg.TagLimits},
		TaskParallelism: cfg.TaskParallelism,
		KillGrace:       cfg.KillGrace,
		TaskEnv:         cfg.TaskEnv,
		Kinds:           kinds,
		Clock:           cfg.Clock,
		Logger:          e.log.With("component", "runner"),
		OnChange:        func() { e.events.publish(api.TopicRuns) },
		Shared:          shared,
		Lease:           cfg.Lease,
		PollInterval:    cfg.PollInterval,
		MissingGrace:    cfg.MissingDAGGrace,
	})
	if err != nil {
		return fail(err)
	}
	e.sched = runner.NewScheduler(runner.SchedulerConfig{
		Store:   e.st,
		DAGs:    e.firingDAGs,
		Enqueue: e.runner.Enqueue,
		Clock:   cfg.Clock,
		Logger:  e.log.With("component", "scheduler"),
	})
	if err := e.newSensors(); err != nil {
		return fail(err)
	}
	if shared {
		e.cluster = newClusterView(cfg.PollInterval)
		e.cluster.st, e.cluster.self, e.cluster.lookup = e.st, e.runner.Instance, src.Lookup
		e.cluster.sensors, e.cluster.publish = e.sensors.Snapshot, e.events.publish
		e.cluster.log = e.log.With("component", "cluster")
	}
	if e.reviews, err = e.buildReviews(e.st, "the console"); err != nil {
		return fail(err)
	}
	if len(cfg.Notify.Targets) > 0 {
		nc := cfg.Notify
		if nc.Clock == nil {
			nc.Clock = cfg.Clock
		}
		if nc.Logger == nil {
			nc.Logger = e.log.With("component", "notify")
		}
		if e.notify, err = notify.New(nc, e.st, e); err != nil {
			return fail(err)
		}
	}
	return e, nil
}

// scheduledDAGs are the definitions that may fire: every active one, and
// the last good version of a file that is now invalid.
func (e *Engine) scheduledDAGs() []*dag.DAG {
	var out []*dag.DAG
	seen := map[string]bool{}
	for _, d := range e.dags.DAGs() {
		if seen[d.Name] || d.Def == nil || (d.Status != api.DAGActive && d.Status != api.DAGInvalid) {
			continue
		}
		if def, ok := e.dags.Lookup(d.Name); ok {
			seen[d.Name] = true
			out = append(out, def)
		}
	}
	return out
}

// service is the lifecycle every part the engine runs shares.
type service interface {
	Start(ctx context.Context) error
	Stop()
}

// Start loads the DAGs (initial scan), starts the review service, settles
// runs a crash interrupted and starts the queue, then the sensors (which
// enqueue into it) and the schedules. If one fails, those already started
// are stopped again. Stop stops them in the reverse order.
func (e *Engine) Start(ctx context.Context) error {
	if e.off != nil {
		return ErrOffline
	}
	return e.life.Start(ctx, func(relayCtx context.Context) error {
		steps := []struct {
			name    string
			svc     service
			started func()
		}{
			// Versions and pins before the queue: queued runs and
			// schedules resolve through them.
			{"dag loader", e.dags, func() { e.syncVersions(ctx) }},
			{"reviews", e.reviews, nil},
			{"runner", e.runner, nil},
			// Paused DAGs stay paused across restarts: read before the
			// schedules start.
			{"kafka sensors", e.sensors, func() { e.syncSensors(); e.refreshPauses(ctx) }},
			{"sensor lag recorder", e.lagRec, nil},
			{"scheduler", e.sched, nil},
		}
		if e.cluster != nil {
			steps = append(steps, struct {
				name    string
				svc     service
				started func()
			}{"cluster view", e.cluster, nil})
		}
		if e.notify != nil {
			// Last: its baseline is the snapshot of every part started.
			steps = append(steps, struct {
				name    string
				svc     service
				started func()
			}{"notifications", e.notify, nil})
		}
		for _, step := range steps {
			// The parts get ctx, not relayCtx: Stop ends each in its turn.
			if err := step.svc.Start(ctx); err != nil {
				e.stopServices()
				return fmt.Errorf("starting %s: %w", step.name, err)
			}
			e.running = append(e.running, step.svc)
			if step.started != nil {
				step.started()
			}
		}
		e.life.Go(func() { e.relayDAGChanges(relayCtx) })
		e.life.Go(func() { e.relayPartChanges(relayCtx) })
		e.life.Go(func() { e.watchPauses(relayCtx) })
		e.events.publish(api.TopicDAGs | api.TopicRuns | api.TopicSensors | api.TopicReviews | api.TopicMeta)
		e.log.Info("engine started", "state_dir", e.cfg.StateDir, "dags", len(e.dags.DAGs()),
			"kafka", len(e.cfg.Kafka.Brokers) > 0, "metapipeline", e.meta != nil)
		return nil
	})
}

// stopServices is the one stop cascade: the started parts, newest first.
func (e *Engine) stopServices() {
	for i := len(e.running) - 1; i >= 0; i-- {
		e.running[i].Stop()
	}
	e.running = nil
}

// relayDAGChanges turns loader changes into events, schedule updates and
// sensor restarts.
func (e *Engine) relayDAGChanges(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.dags.Changes():
			if e.versions != nil {
				e.versions.record(ctx)
			}
			e.events.publish(api.TopicDAGs)
			e.sched.Poke()
			e.syncSensors()
		case <-e.dags.Scans():
			// Nothing changed but the sources' last-scan times.
			e.events.publish(api.TopicDAGs)
		}
	}
}

// relayPartChanges turns the sensors' and the review service's change
// signals into events. It is apart from the DAG relay because a sensor
// sync waits for consumers to leave their groups.
func (e *Engine) relayPartChanges(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.sensors.Changes():
			e.events.publish(api.TopicSensors)
		case <-e.reviews.Changes():
			e.events.publish(api.TopicReviews)
		}
	}
}

// Stop ends the relays, then stops the schedules, the sensors (committing
// what they persisted), the queue (running tasks get SIGTERM, then SIGKILL
// after KillGrace; their runs are settled as interrupted), the review
// service and the loader, and releases the state dir. Stop of an engine
// never started only releases the state dir.
func (e *Engine) Stop() {
	e.life.Stop(func() {
		e.stopServices()
		e.log.Info("engine stopped")
	})
	e.closeOnce.Do(e.close)
}

func (e *Engine) close() {
	if e.st != nil {
		if err := e.st.Close(); err != nil {
			e.log.Error("closing store", "err", err)
		}
	}
	if e.lock != nil {
		e.lock.Release()
	}
}

// Logger is the engine's logger (tees into the logs pane); components
// wired in later log through it.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Runner is the run queue; sensors enqueue runs carrying batches through
// its Enqueue.
func (e *Engine) Runner() *runner.Runner { return e.runner }

// Kinds is the registry of task kinds, for components that add their own
// (sluice.meta.*).
func (e *Engine) Kinds() *runner.Kinds { return e.runner.Kinds() }

// now is the engine's clock (Config.Clock, the real one when nil): every
// time the engine records or shows — audit entries, pins, pauses, marks,
// backfills, status and snapshot stamps — is read from it.
func (e *Engine) now() time.Time { return clock.Or(e.cfg.Clock).Now() }

// Publish tells subscribers that part of the snapshot changed; components
// wired in later call it after committing their changes.
func (e *Engine) Publish(t api.Topic) { e.events.publish(t) }

// MissedFires reports schedule fires missed while the engine was down.
func (e *Engine) MissedFires() []runner.Missed { return e.sched.Missed() }

// Snapshot implements API.
func (e *Engine) Snapshot() *api.Snapshot {
	s := &api.Snapshot{
		At:      e.now(),
		DAGs:    e.dags.DAGs(),
		Sources: e.dags.Sources(),
		Runs:    e.runner.Runs(),
		Sensors: e.sensors.Snapshot(),
		Reviews: e.reviews.Reviews(),
		Logs:    e.ring.Records(),

		Instances: e.runner.LiveInstances(),
		Store:     e.runner.StoreHealth(),
	}
	if e.meta != nil {
		s.Meta, s.MetaEnabled = e.meta.snapshot(), true
	}
	if e.cluster != nil {
		e.cluster.merge(s)
	}
	if e.notify != nil {
		s.Notify = e.notify.Status()
	}
	next := e.sched.NextFires()
	for i := range s.DAGs {
		if t, ok := next[s.DAGs[i].Name]; ok && !t.IsZero() {
			s.DAGs[i].NextFire = t
		}
		s.DAGs[i].Paused = e.pausedDAG(s.DAGs[i].Name)
	}
	// Names, keys, errors and output come from files, buckets, brokers
	// and servers nobody here controls: escape what a terminal would obey.
	return s.Sanitized()
}

// Subscribe implements API.
func (e *Engine) Subscribe() (<-chan api.Event, func()) { return e.events.subscribe() }

// ScanNow implements API.
func (e *Engine) ScanNow(ctx context.Context) (api.ScanResult, error) {
	res, err := e.dags.ScanNow(ctx)
	if e.versions != nil && e.off == nil {
		// What the scan loaded is numbered before the caller triggers it.
		e.versions.record(ctx)
	}
	e.events.publish(api.TopicDAGs)
	e.sched.Poke()
	return res, err
}

// Trigger implements API: it queues a manual run once the run is committed.
func (e *Engine) Trigger(ctx context.Context, name string, cfg json.RawMessage) (int64, error) {
	id, err := e.trigger(ctx, name, cfg)
	result := ""
	if err == nil {
		result = fmt.Sprintf("ok: run %d", id)
	}
	e.audit(ctx, "trigger", "dag "+name, "", result, err)
	return id, err
}

func (e *Engine) trigger(ctx context.Context, name string, cfg json.RawMessage) (int64, error) {
	if err := CheckRunConfig(cfg); err != nil {
		return 0, fmt.Errorf("triggering %q: %w", name, err)
	}
	id, err := e.runner.Enqueue(ctx, store.NewRun{DAG: name, Trigger: store.TriggerManual, Config: cfg})
	if err != nil {
		return 0, err
	}
	e.log.Info("run triggered", "run", id, "dag", name)
	return id, nil
}

// Cancel implements API.
func (e *Engine) Cancel(ctx context.Context, run int64) error {
	err := e.runner.Cancel(ctx, run)
	e.audit(ctx, "cancel", fmt.Sprintf("run %d", run), "", "", err)
	return err
}
