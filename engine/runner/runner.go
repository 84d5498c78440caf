// Package runner runs DAGs: the run queue with its limits and wait reasons,
// the executor that runs a run's tasks, the task kinds, and the cron
// scheduler. The store is the source of truth: every state change is
// committed there before the runner's memory, its snapshot or its change
// callback shows it.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/store"
)

// VersionedDAGs also resolves a stored version of a DAG: a run runs the
// version it was queued with (a re-run its original's), not the file's
// newest.
type VersionedDAGs interface {
	LookupVersion(name string, version int) (*dag.DAG, bool)
}

// DAGs resolves a DAG name to its active definition (the loader does).
type DAGs interface {
	Lookup(name string) (*dag.DAG, bool)
}

// Config configures a Runner.
type Config struct {
	Store store.Interface
	DAGs  DAGs
	// StateDir holds run files: StateDir/runs/<id>/ (config, batch, logs).
	StateDir string
	Limits   Limits
	// TaskParallelism bounds how many tasks of one run run at once
	// (default 8).
	TaskParallelism int
	// KillGrace is the time between SIGTERM and SIGKILL for a task's
	// process group on timeout, cancellation and shutdown (default 10s).
	KillGrace time.Duration
	// TaskEnv is added to every task's environment (TaskRun.Env).
	TaskEnv []string
	// PollInterval is how often the store is checked for runs other
	// processes queued (default 250ms).
	PollInterval time.Duration
	// FinishedKept bounds the finished runs the snapshot carries (default
	// 200).
	FinishedKept int
	// Kinds runs tasks; nil: DefaultKinds(LambdaConfig{}, Logger).
	Kinds *Kinds
	// Clock stamps queue, start and finish times; nil is the real clock.
	Clock  clock.Clock
	Logger *slog.Logger
	// OnChange is called after every committed change of runs; it must not
	// block.
	OnChange func()
	// Instance is this process's id in the store: the runs it claims
	// record it. Default: host-pid-random.
	Instance string
	// Shared says other instances use the store at once (PostgreSQL): dead
	// ones are reaped after Lease, the queue shown is re-read from the
	// store, and process groups are left to their own instance.
	Shared bool
	// Lease is how old an instance's heartbeat may get before it counts
	// as dead (default 30s); heartbeats come every Lease/6.
	Lease time.Duration
	// MissingGrace is how long a queued run waits for its DAG when the
	// DAG's file went missing and the store lacks the version the run was
	// queued with (default 5m); then it runs with the last version the
	// runner knew, if that is the run's, or fails. A run whose version is
	// stored runs it at once.
	MissingGrace time.Duration
	// StoreRetryInterval is the first pause after the store refused a
	// write (doubling up to 10s; default 250ms): before retrying a run's
	// start or final commit, and before claiming runs again.
	StoreRetryInterval time.Duration
}

// Sentinels callers act on.
var (
	ErrUnknownDAG  = errors.New("unknown or disabled dag")
	ErrRunNotFound = store.ErrNotFound
	ErrRunFinished = errors.New("run already finished")
)

// errCancelled is the cause a cancelled run's context carries; any other
// cause is a shutdown.
var errCancelled = errors.New("cancelled")

// Runner owns the queue and the runs in flight.
type Runner struct {
	cfg   Config
	st    store.Interface
	log   *slog.Logger
	kinds *Kinds

	mu      sync.Mutex
	queue   *queue
	byDAG   map[string]int // queued runs per DAG
	running map[int64]*activeRun
	// cancelled are runs an operator cancelled in the moment between
	// this instance claiming them and starting them: they start
	// cancelled.
	cancelled map[int64]bool
	act       *active
	finished  []api.Run // oldest first, at most FinishedKept
	// finishedTotal counts finished runs in the store: counted at start,
	// then kept by addFinishedLocked, so a snapshot costs no query.
	finishedTotal int
	version       uint64 // bumped on every queue or slot change
	cache         struct {
		version uint64
		queued  []api.Run
	}
	health  storeHealth
	missing missingDAGs

	life    lifecycle.Lifecycle
	clock   clock.Clock
	base    context.Context
	stop    context.CancelCauseFunc
	wake    chan struct{}
	execs   sync.WaitGroup
	started bool // dispatching: set by Start, cleared first by Stop

	id       string
	others   map[string]int // runs of other instances running, by DAG (shared stores)
	beatStop context.CancelFunc
	beatDone chan struct{}
	live     atomic.Int64
}

// activeRun is a run that left the queue: starting, running or settling.
type activeRun struct {
	run     store.Run
	def     *dag.DAG
	why     string // why a run without def fails
	cand    candidate
	counted bool // holds a slot in act
	claim   store.ClaimRef
	cancel  context.CancelCauseFunc
	started bool // its start is committed
	tasks   []api.Task
	index   map[string]int
	files   *runFiles
}

// New checks the config and fills defaults; Start begins running.
func New(cfg Config) (*Runner, error) {
	if cfg.Store == nil || cfg.DAGs == nil {
		return nil, errors.New("runner: Store and DAGs are required")
	}
	if cfg.TaskParallelism <= 0 {
		cfg.TaskParallelism = 8
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.FinishedKept <= 0 {
		cfg.FinishedKept = 200
	}
	if cfg.MissingGrace <= 0 {
		cfg.MissingGrace = 5 * time.Minute
	}
	if cfg.StoreRetryInterval <= 0 {
		cfg.StoreRetryInterval = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Kinds == nil {
		cfg.Kinds = DefaultKinds(LambdaConfig{}, cfg.Logger)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Instance == "" {
		cfg.Instance = NewInstanceID()
	}
	return &Runner{
		cfg:       cfg,
		st:        cfg.Store,
		log:       cfg.Logger,
		kinds:     cfg.Kinds,
		queue:     newQueue(),
		byDAG:     map[string]int{},
		running:   map[int64]*activeRun{},
		cancelled: map[int64]bool{},
		act:       newActive(),
		clock:     clock.Or(cfg.Clock),
		wake:      make(chan struct{}, 1),
		id:        cfg.Instance,
		others:    map[string]int{},
	}, nil
}

// Kinds is the registry of task kinds, for components that add their own.
func (r *Runner) Kinds() *Kinds { return r.kinds }

// Start stops the task processes a killed engine left behind, settles runs
// a crash left running, loads the queue and the recent history from the
// store, and starts dispatching. Call it once the DAGs are loaded: a queued
// run whose DAG is unknown fails.
func (r *Runner) Start(ctx context.Context) error {
	return r.life.Start(ctx, r.start)
}

func (r *Runner) start(ctx context.Context) (err error) {
	// Before a re-queued run can start its tasks again. With a shared
	// store the groups may be another live instance's (or on another box).
	if !r.cfg.Shared {
		if err := r.stopOrphans(ctx); err != nil {
			return err
		}
	}
	now := r.clock.Now()
	if err := r.register(ctx, now); err != nil {
		return err
	}
	defer func() {
		if err != nil { // a failed start leaves no heartbeat behind
			r.deregister(context.WithoutCancel(ctx))
		}
	}()
	rec, err := r.st.ReapDead(ctx, r.id, now, r.cfg.Lease, r.crashRetry(ctx))
	if err != nil {
		return err
	}
	for _, in := range rec {
		if in.Requeued != 0 {
			r.log.Warn("run interrupted by a crash; re-queued (retry_on_crash)", "run", in.Run.ID, "dag", in.Run.DAG, "new_run", in.Requeued)
		} else {
			r.log.Warn("run interrupted by a crash; marked failed", "run", in.Run.ID, "dag", in.Run.DAG)
		}
	}
	queued, err := r.st.ClaimQueued(ctx)
	if err != nil {
		return err
	}
	if err := r.loadFinished(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	for _, run := range queued {
		r.pushLocked(r.withDAGPriority(run))
	}
	// Runs outlive the Start context: only Stop (or a cancel) ends them.
	r.base, r.stop = context.WithCancelCause(context.WithoutCancel(ctx))
	r.started = true
	r.mu.Unlock()
	if len(queued) > 0 {
		r.log.Info("queue loaded", "queued", len(queued))
	}
	r.life.Go(func() { r.loop(ctx) })
	r.changed()
	return nil
}

func (r *Runner) retryOnCrash(run store.Run) bool {
	def, ok := r.cfg.DAGs.Lookup(run.DAG)
	return ok && def.RetryOnCrash
}

// crashRetry is retryOnCrash for settling interrupted runs, where a run
// whose DAG's file is missing is decided by the stored version it ran
// (re-queued, it runs that version again). The versions are read here,
// before the store's transaction calls the rule.
func (r *Runner) crashRetry(ctx context.Context) func(store.Run) bool {
	running, err := r.st.ListRuns(ctx, store.ListOptions{States: []api.RunState{api.RunRunning}})
	if err != nil {
		return r.retryOnCrash // the settle that follows reports the store's trouble
	}
	type key struct {
		dag     string
		version int
	}
	ran := map[key]bool{}
	for _, run := range running {
		k := key{run.DAG, run.DAGVersion}
		if _, seen := ran[k]; seen || run.DAGVersion == 0 {
			continue
		}
		if _, ok := r.cfg.DAGs.Lookup(run.DAG); ok {
			continue
		}
		if def, err := r.storedVersion(ctx, run.DAG, run.DAGVersion); err == nil && def != nil {
			ran[k] = def.RetryOnCrash
		}
	}
	return func(run store.Run) bool {
		if retry, ok := ran[key{run.DAG, run.DAGVersion}]; ok {
			return retry
		}
		return r.retryOnCrash(run)
	}
}

// Stop ends dispatching, stops running tasks (SIGTERM, then SIGKILL after
// KillGrace) and settles their runs as interrupted — re-queued when their
// DAG says retry_on_crash — exactly as a restart after a crash would.
func (r *Runner) Stop() { r.life.Stop(r.shutdown) }

// shutdown runs once the dispatch loop has ended.
func (r *Runner) shutdown() {
	r.mu.Lock()
	r.started = false // no dispatch from a finishing run either
	r.mu.Unlock()
	r.stop(errors.New("engine shutting down"))
	r.execs.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := r.st.ReleaseClaims(ctx, r.id, r.clock.Now(), r.crashRetry(ctx))
	if err != nil {
		r.log.Error("settling interrupted runs at shutdown", "err", err)
	}
	for _, in := range rec {
		r.log.Info("run interrupted by shutdown", "run", in.Run.ID, "dag", in.Run.DAG, "requeued_as", in.Requeued)
	}
	r.deregister(ctx)
}

// loop dispatches whenever something may have freed a slot or queued a run,
// and polls the store for runs other processes queued.
func (r *Runner) loop(ctx context.Context) {
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	reap := time.NewTicker(r.heartbeatEvery())
	defer reap.Stop()
	for {
		r.dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.base.Done():
			return
		case <-r.wake:
		case <-poll.C:
			if r.cfg.Shared {
				r.refreshShared(ctx)
			} else {
				r.adoptExternal(ctx)
			}
		case <-reap.C:
			if r.cfg.Shared {
				r.reap(ctx)
			}
		}
	}
}

func (r *Runner) wakeup() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) changed() {
	if r.cfg.OnChange != nil {
		r.cfg.OnChange()
	}
}

// info describes a DAG for the limits, memoised for one pass.
func (r *Runner) info(memo map[string]*dag.DAG) func(string) (candidate, bool) {
	return func(name string) (candidate, bool) {
		def, seen := memo[name]
		if !seen || def == nil {
			var hold string
			def, hold = r.resolve(name, r.clock.Now())
			memo[name] = def
			if hold != "" {
				return candidate{DAG: name, DAGLimit: store.DAGLimit{Hold: hold}}, true
			}
		}
		if def == nil {
			return candidate{}, false
		}
		return candidate{DAG: name, DAGLimit: store.DAGLimit{MaxActive: def.MaxActiveRuns, Tags: def.Tags}}, true
	}
}

// claimBatch is how many runs one claim may take.
const claimBatch = 16

// dispatch claims, through the store, every queued run the limits allow —
// counted over every instance of the store — and starts them.
func (r *Runner) dispatch(ctx context.Context) {
	r.mu.Lock()
	ok := r.started && (r.cfg.Shared || r.queue.len() > 0) && !r.holdingStartsLocked(time.Now())
	r.mu.Unlock()
	if !ok {
		return
	}
	// The store is asked about missing DAGs here, not inside the claim.
	r.checkMissing(ctx)
	memo := map[string]*dag.DAG{}
	info := r.info(memo)
	lim := r.cfg.Limits.claimLimits(info)
	for {
		claims, _, err := r.st.ClaimRuns(ctx, r.id, r.clock.Now(), lim, claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				// The runs stay queued, in order; claiming waits a backoff.
				r.log.Error("claiming runs", "err", err)
				r.storeFailed(err)
			}
			return
		}
		r.storeOK()
		r.mu.Lock()
		for _, c := range claims {
			r.startClaimedLocked(ctx, c, memo, info)
		}
		if len(claims) > 0 {
			r.version++
		}
		r.mu.Unlock()
		if len(claims) < claimBatch {
			return
		}
	}
}

// startClaimedLocked starts a run this instance claimed. The caller holds
// mu.
func (r *Runner) startClaimedLocked(ctx context.Context, c store.Claim, memo map[string]*dag.DAG, info func(string) (candidate, bool)) {
	r.removeLocked(c.Run.ID)
	run := r.withDAGPriority(c.Run)
	ar := &activeRun{run: run, claim: c.Ref()}
	ar.def, ar.why = r.definitionOf(ctx, run, memo[run.DAG])
	if ar.def != nil {
		ar.cand, _ = info(run.DAG)
		r.act.Add(ar.cand.DAG, ar.cand.DAGLimit, 1)
		ar.counted = true
	}
	runCtx, cancel := context.WithCancelCause(r.base)
	ar.cancel = cancel
	if r.cancelled[run.ID] {
		delete(r.cancelled, run.ID)
		cancel(errCancelled)
	}
	r.running[run.ID] = ar
	r.execs.Add(1)
	go r.execute(runCtx, ar)
}

func (r *Runner) pushLocked(run store.Run) {
	if r.queue.has(run.ID) || r.running[run.ID] != nil {
		return
	}
	r.queue.push(&queued{id: run.ID, dag: run.DAG, priority: run.Priority, queuedAt: run.QueuedAt, run: run})
	r.byDAG[run.DAG]++
	r.version++
}

func (r *Runner) removeLocked(id int64) *queued {
	it := r.queue.remove(id)
	if it != nil {
		r.byDAG[it.dag]--
		if r.byDAG[it.dag] <= 0 {
			delete(r.byDAG, it.dag)
		}
		r.version++
	}
	return it
}

// adoptExternal takes in runs `sluice trigger` queued in the store.
func (r *Runner) adoptExternal(ctx context.Context) {
	runs, err := r.st.ClaimExternal(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("polling the store for new runs", "err", err)
		}
		return
	}
	if len(runs) == 0 {
		return
	}
	r.mu.Lock()
	for _, run := range runs {
		if run.State == api.RunQueued {
			r.pushLocked(r.withDAGPriority(run))
			r.log.Info("run queued by another process", "run", run.ID, "dag", run.DAG)
		} else {
			r.addFinishedLocked(r.finishedRun(run, nil, nil))
		}
	}
	r.mu.Unlock()
	r.changed()
}

// Enqueue stores a queued run and adds it to the queue. A run carrying a
// batch some run already carries is not stored: the existing run's id comes
// back with store.ErrDuplicateBatch. Priority 0 takes the DAG's priority.
func (r *Runner) Enqueue(ctx context.Context, nr store.NewRun) (int64, error) {
	def, ok := r.cfg.DAGs.Lookup(nr.DAG)
	if !ok {
		return 0, fmt.Errorf("queueing a run of %q: %w", nr.DAG, ErrUnknownDAG)
	}
	if nr.Priority == 0 {
		nr.Priority = def.Priority
	}
	if nr.QueuedAt.IsZero() {
		nr.QueuedAt = r.clock.Now()
	}
	if nr.DAGVersion == 0 {
		nr.DAGVersion = def.Version
	}
	nr.External = false
	id, err := r.st.CreateRun(ctx, nr)
	if err != nil {
		return id, err
	}
	run := store.Run{ID: id, DAG: nr.DAG, State: api.RunQueued, Trigger: nr.Trigger, Priority: nr.Priority,
		Config: nr.Config, QueuedAt: nr.QueuedAt, RetryOf: nr.RetryOf, ScheduledFor: nr.ScheduledFor,
		RerunOf: nr.RerunOf, Skip: nr.Skip, DAGVersion: nr.DAGVersion}
	if run.Trigger == "" {
		run.Trigger = store.TriggerManual
	}
	if nr.ReuseBatch != 0 {
		// The batch's key is in the store only.
		if stored, err := r.st.Run(ctx, id); err == nil {
			run.Batch, run.BatchID = stored.Batch, stored.BatchID
		}
	}
	if nr.Batch != nil {
		run.Batch = nr.Batch.Key()
		// The batch id is needed only when a task asks for the batch file;
		// the executor reads it then.
	}
	r.missing.remember(nr.DAG, def)
	r.mu.Lock()
	r.pushLocked(run)
	r.mu.Unlock()
	r.wakeup()
	r.changed()
	return id, nil
}

// QueuedCount is the number of queued runs of a DAG (all DAGs when dag is
// ""), from memory: cheap enough for every sensor tick.
func (r *Runner) QueuedCount(dag string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if dag == "" {
		return r.queue.len()
	}
	return r.byDAG[dag]
}

// Cancel cancels a queued run at once, or asks a running one to stop: its
// running tasks are killed, its other tasks skipped, and it ends cancelled.
func (r *Runner) Cancel(ctx context.Context, id int64) error {
	r.mu.Lock()
	if it := r.removeLocked(id); it != nil {
		r.mu.Unlock()
		now := r.clock.Now()
		if err := r.st.CancelQueued(ctx, id, now, "cancelled while queued"); err != nil {
			if errors.Is(err, store.ErrNotQueued) {
				// Claimed since it was queued here: by this instance
				// (dispatch is about to start it) or another.
				return r.cancelClaimed(ctx, id)
			}
			r.mu.Lock()
			r.pushLocked(it.run)
			r.mu.Unlock()
			return err
		}
		run := it.run
		run.State, run.FinishedAt, run.Error = api.RunCancelled, now, "cancelled while queued"
		r.mu.Lock()
		r.addFinishedLocked(r.finishedRun(run, nil, r.defOf(run.DAG)))
		r.mu.Unlock()
		r.wakeup()
		r.changed()
		r.log.Info("run cancelled", "run", id, "dag", run.DAG)
		return nil
	}
	if ar := r.running[id]; ar != nil {
		r.mu.Unlock()
		ar.cancel(errCancelled)
		r.log.Info("cancelling run", "run", id, "dag", ar.run.DAG)
		return nil
	}
	r.mu.Unlock()
	// Not in memory: queued by another process and not adopted yet, or
	// finished, or unknown.
	err := r.st.CancelQueued(ctx, id, r.clock.Now(), "cancelled while queued")
	switch {
	case err == nil:
		r.changed()
		return nil
	case errors.Is(err, store.ErrNotQueued):
		return fmt.Errorf("cancelling run %d: %w", id, ErrRunFinished)
	default:
		return err
	}
}

// cancelClaimed cancels a run that left the queue for this instance's
// claim but may not be running here yet: it starts cancelled.
func (r *Runner) cancelClaimed(ctx context.Context, id int64) error {
	run, err := r.st.Run(ctx, id)
	if err != nil {
		return fmt.Errorf("cancelling run %d: %w", id, err)
	}
	if run.State != api.RunRunning || run.Instance != r.id {
		return fmt.Errorf("cancelling run %d: %w", id, ErrRunFinished)
	}
	r.mu.Lock()
	ar := r.running[id]
	if ar == nil {
		r.cancelled[id] = true
	}
	r.mu.Unlock()
	if ar != nil {
		ar.cancel(errCancelled)
	}
	r.log.Info("cancelling run", "run", id, "dag", run.DAG)
	return nil
}

// withDAGPriority gives a run queued without a priority (sluice trigger)
// its DAG's.
func (r *Runner) withDAGPriority(run store.Run) store.Run {
	def := r.defOf(run.DAG)
	if def != nil {
		r.missing.remember(run.DAG, def)
	}
	if run.Priority == 0 && def != nil {
		run.Priority = def.Priority
	}
	return run
}

// definitionOf is the definition run starts with, or why it has none:
// the version it was queued with, also when its DAG's file is missing.
func (r *Runner) definitionOf(ctx context.Context, run store.Run, cur *dag.DAG) (*dag.DAG, string) {
	if def, why, gone := r.missingVersion(ctx, run); gone {
		return def, why
	}
	return r.versionOf(run, cur), ""
}

// versionOf is the definition run runs: cur, unless the run was queued
// with another stored version the DAGs still resolve.
func (r *Runner) versionOf(run store.Run, cur *dag.DAG) *dag.DAG {
	if cur == nil || run.DAGVersion == 0 || cur.Version == run.DAGVersion {
		return cur
	}
	if vd, ok := r.cfg.DAGs.(VersionedDAGs); ok {
		if def, ok := vd.LookupVersion(run.DAG, run.DAGVersion); ok {
			return def
		}
	}
	return cur
}

func (r *Runner) defOf(name string) *dag.DAG {
	def, _ := r.cfg.DAGs.Lookup(name)
	return def
}

// Runs is the snapshot of the queue: queued runs in start order with their
// wait reasons, running runs with their tasks, recent finished runs.
func (r *Runner) Runs() api.Runs {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out api.Runs
	out.Queued = r.queuedLocked()
	for _, ar := range r.running {
		if ar.started {
			out.Running = append(out.Running, ar.snapshot())
		}
	}
	slices.SortFunc(out.Running, func(a, b api.Run) int { return cmpInt64(a.ID, b.ID) })
	out.Finished = make([]api.Run, len(r.finished))
	for i, run := range r.finished {
		out.Finished[len(r.finished)-1-i] = run
	}
	out.FinishedTotal = max(r.finishedTotal, len(out.Finished))
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// queuedLocked builds (or reuses) the queued part of the snapshot. Runs
// picked but whose start is not committed yet lead, "starting".
func (r *Runner) queuedLocked() []api.Run {
	if r.missing.changed.Swap(false) {
		r.version++ // a DAG went missing or came back: wait reasons change
	}
	if r.cache.queued != nil && r.cache.version == r.version {
		return slices.Clone(r.cache.queued)
	}
	out := make([]api.Run, 0, r.queue.len())
	for _, ar := range r.running {
		if !ar.started {
			run := queuedRun(ar.run, ar.def)
			run.WaitReason = "starting"
			out = append(out, run)
		}
	}
	slices.SortFunc(out, func(a, b api.Run) int { return cmpInt64(a.ID, b.ID) })
	// Wait reasons count the runs every instance runs, so they stay true
	// across instances.
	act := r.act.Clone()
	memo := map[string]*dag.DAG{}
	for name, n := range r.others {
		if c, ok := r.info(memo)(name); ok {
			act.Add(name, c.DAGLimit, n)
		}
	}
	r.queue.plan(act, r.cfg.Limits, r.info(memo), func(it *queued, why string) {
		run := queuedRun(it.run, memo[it.dag])
		switch {
		case why != "":
			run.WaitReason = why
		case run.WaitReason == "":
			run.WaitReason = "starting"
		}
		out = append(out, run)
	})
	r.cache.version, r.cache.queued = r.version, out
	return slices.Clone(out)
}

func queuedRun(run store.Run, def *dag.DAG) api.Run {
	s := api.Run{
		ID: run.ID, DAG: run.DAG, State: api.RunQueued, Trigger: run.Trigger, Priority: run.Priority,
		Config: run.Config, QueuedAt: run.QueuedAt, Batch: run.Batch, RerunOf: run.RerunOf, DAGVersion: run.DAGVersion,
	}
	if def != nil {
		s.Total = len(def.Nodes)
	} else {
		s.WaitReason = "dag not loaded"
	}
	return s
}

func (ar *activeRun) snapshot() api.Run {
	s := api.Run{
		ID: ar.run.ID, DAG: ar.run.DAG, State: ar.run.State, Trigger: ar.run.Trigger, Priority: ar.run.Priority,
		Config: ar.run.Config, QueuedAt: ar.run.QueuedAt, StartedAt: ar.run.StartedAt, FinishedAt: ar.run.FinishedAt,
		Error: ar.run.Error, Batch: ar.run.Batch, Tasks: slices.Clone(ar.tasks), Total: len(ar.tasks),
		RerunOf: ar.run.RerunOf, DAGVersion: ar.run.DAGVersion,
	}
	for _, t := range ar.tasks {
		if taskDone(t.State) {
			s.Done++
		}
	}
	return s
}

func taskDone(state api.TaskState) bool {
	switch state {
	case api.TaskSuccess, api.TaskFailed, api.TaskCancelled, api.TaskUpstreamFailed, api.TaskSkipped:
		return true
	}
	return false
}

func (r *Runner) addFinishedLocked(run api.Run) {
	if len(r.finished) >= r.cfg.FinishedKept {
		n := copy(r.finished, r.finished[len(r.finished)-r.cfg.FinishedKept+1:])
		clear(r.finished[n:])
		r.finished = r.finished[:n]
	}
	r.finished = append(r.finished, run)
	r.finishedTotal++
}

// finishedRun builds the snapshot of a settled run from its stored rows;
// tasks without a row never ran.
func (r *Runner) finishedRun(run store.Run, rows []store.Attempt, def *dag.DAG) api.Run {
	s := api.Run{
		ID: run.ID, DAG: run.DAG, State: run.State, Trigger: run.Trigger, Priority: run.Priority, Config: run.Config,
		QueuedAt: run.QueuedAt, StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, Error: run.Error, Batch: run.Batch,
		RerunOf: run.RerunOf, DAGVersion: run.DAGVersion,
	}
	byTask := map[string]store.Attempt{}
	for _, a := range rows {
		byTask[a.Task] = a
	}
	var order []string
	if def != nil {
		order = def.TopoOrder()
	} else {
		for _, a := range rows {
			order = append(order, a.Task)
		}
	}
	for _, id := range order {
		t := api.Task{ID: id, State: api.TaskSkipped}
		if a, ok := byTask[id]; ok {
			t = taskFromAttempt(a)
		}
		s.Tasks = append(s.Tasks, t)
		if taskDone(t.State) {
			s.Done++
		}
	}
	s.Total = len(s.Tasks)
	return s
}

func taskFromAttempt(a store.Attempt) api.Task {
	return api.Task{ID: a.Task, State: a.State, Attempt: a.Attempt, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
		Error: a.Error, LogTail: a.LogTail, LogFile: a.LogFile}
}

// loadFinished fills the history the snapshot starts with.
func (r *Runner) loadFinished(ctx context.Context) error {
	runs, err := r.st.ListRuns(ctx, store.ListOptions{
		States: []api.RunState{api.RunSuccess, api.RunFailed, api.RunCancelled}, Limit: r.cfg.FinishedKept,
	})
	if err != nil {
		return err
	}
	ids := make([]int64, len(runs))
	for i, run := range runs {
		ids[i] = run.ID
	}
	tasks, err := r.st.Tasks(ctx, ids...)
	if err != nil {
		return err
	}
	total, err := r.st.FinishedCount(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = r.finished[:0]
	for i := len(runs) - 1; i >= 0; i-- {
		r.addFinishedLocked(r.finishedRun(runs[i], tasks[runs[i].ID], r.defOf(runs[i].DAG)))
	}
	r.finishedTotal = total
	return nil
}

// runDir is where a run's files live.
func (r *Runner) runDir(id int64) string {
	return filepath.Join(r.cfg.StateDir, "runs", strconv.FormatInt(id, 10))
}

// idle reports whether nothing is queued or in flight.
func (r *Runner) idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queue.len() == 0 && len(r.running) == 0
}
