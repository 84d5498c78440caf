package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/storeopen"
)

// Options is what Open needs: the engine's typed configuration, and how the
// state dir is opened. Commands build it from flags, the environment and
// the config file; nothing under engine/ reads those.
type Options struct {
	Config
	// Offline opens the state dir beside an engine that may be running on
	// it: no lock is taken and nothing runs (Start refuses). The store and
	// the review service are opened when an operation first needs them, so
	// a command that only reads never creates a state dir. The one-shot
	// commands (trigger, runs list, meta run, review, validate) open the
	// engine this way.
	Offline bool
}

// ErrNoState: an offline operation that only reads found no database in
// the state dir (nothing ever ran or was staged there).
var ErrNoState = errors.New("no state")

// ErrOffline: Start on an engine opened offline.
var ErrOffline = errors.New("engine: opened offline, it does not run")

// offlineParts are what an offline engine opens on first use.
type offlineParts struct {
	mu sync.Mutex
}

// Open is the one place where the engine's parts are built: the store, the
// DAG loader, the run queue, the scheduler, the Kafka sensors, the
// metapipeline and the review service. An offline engine builds the store
// and the review service only, on demand.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if !opts.Offline {
		return newEngine(opts.Config, nil)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: opts.Config, ring: NewLogRing(opts.LogRingSize), events: newBroker(), off: &offlineParts{}}
	e.log = opts.Logger
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// Close releases what an offline engine opened. (A started engine is
// released by Stop.)
func (e *Engine) Close() {
	if e.off == nil {
		e.Stop()
		return
	}
	e.off.mu.Lock()
	defer e.off.mu.Unlock()
	e.close()
	e.st, e.reviews = nil, nil
}

// openStore returns the store, opening it for an offline engine; without
// create, a state dir with no database is ErrNoState and stays untouched.
func (e *Engine) openStore(ctx context.Context, create bool) (store.Interface, error) {
	if e.off == nil {
		return e.st, nil
	}
	e.off.mu.Lock()
	defer e.off.mu.Unlock()
	if e.st != nil {
		return e.st, nil
	}
	shared := storeopen.Shared(e.cfg.Store)
	if e.cfg.StateDir == "" && !shared {
		return nil, errors.New("engine: StateDir is required")
	}
	if !create && !shared {
		if _, err := os.Stat(filepath.Join(e.cfg.StateDir, store.DBFile)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s", ErrNoState, e.cfg.StateDir)
		}
	}
	st, err := storeopen.Open(ctx, e.cfg.Store, e.cfg.StateDir, storeopen.Options{Synchronous: e.cfg.Synchronous, Logger: e.log})
	if err != nil {
		return nil, err
	}
	e.st = st
	return st, nil
}

// Store is the engine's store, for components that persist their own state
// in it (sensor ticks, review items). An offline engine's is nil until an
// operation opened it.
func (e *Engine) Store() store.Interface { return e.st }

// reviewService returns the review service, building it for an offline
// engine on first use.
func (e *Engine) reviewService(ctx context.Context, create bool) (*review.Service, error) {
	if e.off == nil {
		return e.reviews, nil
	}
	st, err := e.openStore(ctx, create)
	if err != nil {
		return nil, err
	}
	e.off.mu.Lock()
	defer e.off.mu.Unlock()
	if e.reviews == nil {
		if e.reviews, err = e.buildReviews(st, "the command line"); err != nil {
			return nil, err
		}
	}
	return e.reviews, nil
}

// buildReviews is the one builder of the review service: on st, with the
// Mode workspace the metapipeline reads as the archiver of its reports.
// from says where approvals come from, for pull request descriptions.
func (e *Engine) buildReviews(st store.Interface, from string) (*review.Service, error) {
	cfg := e.cfg.Review
	cfg.StateDir = e.cfg.StateDir
	if reviewPoll := clusterViewMax / 2; storeopen.Shared(e.cfg.Store) && (cfg.PollInterval <= 0 || cfg.PollInterval > reviewPoll) {
		// Other instances approve too: their outcome reaches this
		// instance's consoles within the cluster view's bound.
		cfg.PollInterval = reviewPoll
	}
	if cfg.Clock == nil {
		cfg.Clock = e.cfg.Clock
	}
	// Mode's credentials are never stored in review history either.
	cfg.Secrets = append(cfg.Secrets[:len(cfg.Secrets):len(cfg.Secrets)], e.cfg.Meta.ModeToken, e.cfg.Meta.ModeSecret)
	if cfg.ApprovedFrom == "" {
		cfg.ApprovedFrom = from
	}
	if cfg.Archiver == nil && e.cfg.Meta.ModeWorkspace != "" {
		client, err := newModeClient(e.cfg.Meta, e.log)
		switch {
		case err == nil:
			cfg.Archiver = client
		case e.off != nil:
			// Offline, the command asked for Mode: say so now.
			return nil, err
		default:
			e.log.Warn("archiving Mode reports is unavailable", "err", err)
		}
	}
	svc, err := review.New(cfg, review.NewSQLStore(st), e.log.With("component", "review"))
	if err != nil {
		return nil, fmt.Errorf("preparing reviews: %w", err)
	}
	return svc, nil
}

// newModeClient is the one builder of Mode clients: the one the review
// service archives reports with, and each analysis' (analysisInputs).
func newModeClient(cfg MetaConfig, log *slog.Logger) (*mode.Client, error) {
	return mode.New(cfg.Config.ModeConfig(cfg.ModeToken, cfg.ModeSecret, log.With("component", "mode")))
}

// CheckRunConfig is the one rule for a run config (api.CheckRunConfig).
func CheckRunConfig(cfg json.RawMessage) error { return api.CheckRunConfig(cfg) }

// QueueRun records a manual run of name in the store without running it:
// the engine running on the state dir (this one, or another process's)
// picks it up. A name the engine does not know fails the run with that
// reason when the engine picks it up.
func (e *Engine) QueueRun(ctx context.Context, name string, cfg json.RawMessage, priority int) (store.Run, error) {
	run, err := e.queueRun(ctx, name, cfg, priority)
	result := ""
	if err == nil {
		result = fmt.Sprintf("ok: run %d", run.ID)
	}
	e.audit(ctx, "trigger", "dag "+name, "", result, err)
	return run, err
}

func (e *Engine) queueRun(ctx context.Context, name string, cfg json.RawMessage, priority int) (store.Run, error) {
	if err := CheckRunConfig(cfg); err != nil {
		return store.Run{}, fmt.Errorf("queueing %q: %w", name, err)
	}
	st, err := e.openStore(ctx, true)
	if err != nil {
		return store.Run{}, err
	}
	version, err := e.storedVersion(ctx, st, name)
	if err != nil {
		return store.Run{}, err
	}
	id, err := st.CreateRun(ctx, store.NewRun{DAG: name, Trigger: store.TriggerManual, Priority: priority, Config: cfg,
		External: true, DAGVersion: version, QueuedAt: e.now()})
	if err != nil {
		return store.Run{}, err
	}
	return st.Run(ctx, id)
}

// ListRuns lists runs from the store; a state dir without one has none.
func (e *Engine) ListRuns(ctx context.Context, opts store.ListOptions) ([]store.Run, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.ListRuns(ctx, opts)
}

// Instances lists the instances registered in the store; a state dir
// without one has none.
func (e *Engine) Instances(ctx context.Context) ([]store.Instance, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.Instances(ctx)
}

// ReviewItems lists the review items, newest first; a state dir without a
// store has none.
func (e *Engine) ReviewItems(ctx context.Context) ([]*review.Item, error) {
	svc, err := e.reviewService(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return svc.List(ctx)
}

// ReviewItem is one review item with its diff.
func (e *Engine) ReviewItem(ctx context.Context, id int64) (*review.Item, error) {
	svc, err := e.reviewService(ctx, false)
	if err != nil {
		return nil, err
	}
	return svc.Get(ctx, id)
}

// ApproveReview carries out a review item (see review.Service.Approve);
// with dryRun it only says what it would do.
func (e *Engine) ApproveReview(ctx context.Context, id int64, dryRun bool) (*review.Outcome, error) {
	svc, err := e.reviewService(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("approving review %d: %w", id, err)
	}
	// The service logs every state the item passes through.
	out, err := svc.Approve(ctx, id, dryRun)
	e.events.publish(api.TopicReviews)
	if !dryRun {
		e.audit(ctx, "approve", fmt.Sprintf("review %d", id), "", approveResult(out, err), err)
	}
	return out, err
}

// ExcludeReviewModel takes a model out of a staged deprecation item (see
// review.Service.Exclude).
func (e *Engine) ExcludeReviewModel(ctx context.Context, id int64, model string, x api.Exclusion) (*review.Item, error) {
	svc, err := e.reviewService(ctx, false)
	if err != nil {
		return nil, err
	}
	it, err := svc.Exclude(ctx, id, model, x)
	e.events.publish(api.TopicReviews)
	action := "exclude"
	switch {
	case x.Undo:
		action = "include"
	case x.Keep:
		action = "keep"
	}
	e.audit(ctx, action, fmt.Sprintf("model %s of review %d", model, id), x.Reason, "", err)
	return it, err
}

// UndoRejectReview puts back an item a person rejected (see
// review.Service.UndoReject).
func (e *Engine) UndoRejectReview(ctx context.Context, id int64) (*review.Item, error) {
	svc, err := e.reviewService(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("undoing the rejection of review %d: %w", id, err)
	}
	it, err := svc.UndoReject(ctx, id)
	e.events.publish(api.TopicReviews)
	e.audit(ctx, "unreject", fmt.Sprintf("review %d", id), "", "", err)
	return it, err
}

// RejectReview sets a review item aside; nothing is pushed.
func (e *Engine) RejectReview(ctx context.Context, id int64, reason string) (*review.Item, error) {
	svc, err := e.reviewService(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("rejecting review %d: %w", id, err)
	}
	it, err := svc.Reject(ctx, id, reason)
	e.events.publish(api.TopicReviews)
	e.audit(ctx, "reject", fmt.Sprintf("review %d", id), reason, "", err)
	return it, err
}
