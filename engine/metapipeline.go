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
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/review/metaproposal"
	"github.com/sluice-dev/sluice/engine/runner"
)

// MetaConfig configures the built-in metapipeline DAG.
type MetaConfig struct {
	// Config is the analysis: the dbt manifest (required to enable the
	// metapipeline), the run_results folder, the Mode workspace and the
	// rules.
	meta.Config
	// Schedule is a cron expression; empty runs the metapipeline only when
	// asked (RunMeta, the console's m).
	Schedule string
	// ModeToken and ModeSecret are the Mode API credentials (MODE_TOKEN,
	// MODE_SECRET). They are never logged nor stored.
	ModeToken, ModeSecret string
}

// Enabled reports whether the metapipeline can run: it needs a manifest.
func (c MetaConfig) Enabled() bool { return c.Manifest != "" }

// The metapipeline's last step: staging its proposals as review items. It is
// the engine's (not the analysis') because it joins the analysis to the
// review service.
const (
	metaStageNode = "stage_reviews"
	KindMetaStage = "sluice.review.stage"
)

// ErrMetaNotConfigured: RunMeta without a dbt manifest.
var ErrMetaNotConfigured = fmt.Errorf("%w: no dbt manifest configured (--manifest or DBT_MANIFEST)", api.ErrNotAvailable)

// metapipeline binds the built-in DAG's task kinds to analyses and keeps
// the latest analysis for the snapshot.
type metapipeline struct {
	cfg  MetaConfig
	def  *dag.DAG
	runs *meta.Runs
	log  *slog.Logger
	path string // where the latest analysis is kept across restarts

	mu      sync.Mutex
	latest  *api.MetaReport
	reports map[int64]*meta.Report // analyses waiting for their staging step
}

// maxPendingReports bounds analyses kept for a staging step that never came
// (a cancelled run).
const maxPendingReports = 4

// newMetapipeline builds the DAG and the run bindings; nil when the
// metapipeline is not configured.
func (e *Engine) newMetapipeline() (*metapipeline, error) {
	if !e.cfg.Meta.Enabled() {
		return nil, nil
	}
	d := meta.DAG(e.cfg.Meta.Schedule)
	d.Nodes = append(d.Nodes, dag.Node{
		ID:        metaStageNode,
		Type:      KindMetaStage,
		Config:    json.RawMessage(`{}`),
		DependsOn: []string{meta.StepReport},
	})
	if err := dag.Validate(d); err != nil {
		return nil, fmt.Errorf("metapipeline: %w", err)
	}
	m := &metapipeline{
		cfg:     e.cfg.Meta,
		def:     d,
		log:     e.log.With("component", "metapipeline"),
		path:    filepath.Join(e.cfg.StateDir, "meta", "latest.json"),
		reports: map[int64]*meta.Report{},
	}
	m.latest = m.load()
	m.runs = meta.NewRuns(m.inputs, func(runID int64, r *meta.Report) { e.analysed(runID, r) })
	return m, nil
}

func (m *metapipeline) inputs(_ context.Context, runConfig json.RawMessage) (meta.Inputs, error) {
	c, err := m.cfg.Config.Merge(runConfig)
	if err != nil {
		return meta.Inputs{}, err
	}
	return analysisInputs(MetaConfig{Config: c, ModeToken: m.cfg.ModeToken, ModeSecret: m.cfg.ModeSecret}, m.log)
}

// analysisInputs builds an analysis' inputs, with the Mode client when a
// workspace is configured (the one builder of Mode clients: newModeClient).
func analysisInputs(cfg MetaConfig, log *slog.Logger) (meta.Inputs, error) {
	in, err := cfg.Config.Inputs(log)
	if err != nil || cfg.ModeWorkspace == "" {
		return in, err
	}
	client, err := newModeClient(cfg, log)
	if err != nil {
		return meta.Inputs{}, err
	}
	in.BI = client
	return in, nil
}

// registerMetaKinds binds sluice.meta.* and the staging step.
func (e *Engine) registerMetaKinds(kinds *runner.Kinds) {
	m := e.meta
	kinds.Register(meta.KindPrefix+"*", func(ctx context.Context, t *runner.TaskRun) error {
		err := m.runs.RunTask(ctx, t.RunID, t.Node.Type, t.Config)
		if err != nil {
			// The run is over for this pipeline (no meta step retries): let
			// its state go now rather than when evicted. A step of the run
			// still to come recomputes what it needs.
			m.runs.Forget(t.RunID)
		}
		return err
	})
	kinds.Register(KindMetaStage, e.stageReviews)
}

// analysed receives each finished analysis.
func (e *Engine) analysed(runID int64, r *meta.Report) {
	m := e.meta
	snap := r.Snapshot()
	m.mu.Lock()
	m.latest = snap
	m.reports[runID] = r
	for id := range m.reports {
		if len(m.reports) <= maxPendingReports {
			break
		}
		if id != runID {
			delete(m.reports, id)
		}
	}
	m.mu.Unlock()
	m.save(snap)
	m.log.Info("metapipeline analysis done", "run", runID, "models", r.Manifest.Models,
		"candidates", len(r.Candidates), "stale_reports", len(r.Stale))
	e.events.publish(api.TopicMeta)
}

// take removes and returns a run's analysis.
func (m *metapipeline) take(runID int64) *meta.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[runID]
	delete(m.reports, runID)
	return r
}

func (m *metapipeline) snapshot() *api.MetaReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latest
}

// load reads the analysis kept by an earlier process, so the pane shows
// the latest one from the start; a missing or unreadable file is no error.
func (m *metapipeline) load() *api.MetaReport {
	data, err := os.ReadFile(m.path)
	if err != nil {
		return nil
	}
	var r api.MetaReport
	if err := json.Unmarshal(data, &r); err != nil {
		m.log.Warn("ignoring the kept metapipeline analysis", "path", m.path, "err", err)
		return nil
	}
	return &r
}

func (m *metapipeline) save(r *api.MetaReport) {
	data, err := json.Marshal(r)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(m.path), 0o755)
	}
	if err == nil {
		tmp := m.path + ".tmp"
		if err = os.WriteFile(tmp, data, 0o644); err == nil {
			err = os.Rename(tmp, m.path)
		}
	}
	if err != nil {
		m.log.Warn("keeping the metapipeline analysis", "path", m.path, "err", err)
	}
}

// stageReviews is the metapipeline's last step: the analysis' proposals
// become review items. Without a dbt repository only the archive item (it
// needs no branch) is staged.
func (e *Engine) stageReviews(ctx context.Context, t *runner.TaskRun) error {
	m := e.meta
	r := m.take(t.RunID)
	if r == nil {
		// The process restarted between the analysis and this step: the
		// steps are pure, so analyse again.
		if err := m.runs.RunTask(ctx, t.RunID, meta.KindPrefix+meta.StepReport, t.Config); err != nil {
			return err
		}
		if r = m.take(t.RunID); r == nil {
			return errors.New("metapipeline: the analysis produced no report")
		}
	}
	if r.Notice != "" {
		t.Logf("nothing proposed for deletion: %s", r.Notice)
	}
	items, err := e.stage(ctx, e.reviews, r, t.Logf)
	for _, it := range items {
		t.Logf("review #%d %s (%s): %s", it.ID, it.Kind, it.State, it.Title)
	}
	if len(items) == 0 && err == nil {
		t.Logf("nothing to review")
	}
	if err != nil {
		return fmt.Errorf("staging review items: %w", err)
	}
	return nil
}

// stage is the chain's last link, shared by the built-in DAG and
// AnalyseAndStage: the analysis' proposals become review items. Without a
// dbt repository only the archive item (it needs no branch) is staged.
func (e *Engine) stage(ctx context.Context, svc *review.Service, r *meta.Report, logf func(string, ...any)) ([]*review.Item, error) {
	// The pull requests first: a merged or declined one changes what may
	// be proposed now.
	if followed, err := svc.FollowPullRequests(ctx); err != nil {
		logf("following pull requests: %v", err)
	} else {
		for _, it := range followed {
			logf("review #%d: pull request #%d is %s", it.ID, it.PRNumber, it.State)
		}
	}
	p := metaproposal.FromReport(r)
	if e.cfg.Review.Repo == "" {
		p.Deprecate, p.Exposures = nil, nil
		logf("no dbt repository configured (--repo or DBT_REPO): no deprecation or exposures branch staged")
	}
	items, err := svc.Stage(ctx, p)
	e.events.publish(api.TopicReviews)
	return items, err
}

// Steps of the metapipeline a MetaStepError names.
const (
	MetaStepDBT      = "dbt"      // reading the dbt artifacts: the input is wrong
	MetaStepAnalysis = "analysis" // the analysis (Mode refused, say)
	MetaStepStaging  = "staging"  // staging the review items
)

// MetaStepError is a failed step of AnalyseAndStage.
type MetaStepError struct {
	Step string
	Err  error
}

func (e *MetaStepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *MetaStepError) Unwrap() error { return e.Err }

// Analyse runs the metapipeline's analysis once, outside the run queue
// and without staging anything: dbt first (a MetaStepError of step
// MetaStepDBT: the input is wrong), then the rest (MetaStepAnalysis).
func (e *Engine) Analyse(ctx context.Context) (*meta.Report, error) {
	if !e.cfg.Meta.Enabled() {
		return nil, ErrMetaNotConfigured
	}
	in, err := analysisInputs(e.cfg.Meta, e.log)
	if err != nil {
		return nil, &MetaStepError{Step: MetaStepDBT, Err: err}
	}
	p := meta.New(in)
	// dbt first: a bad manifest is the input's fault, not the analysis'.
	if err := p.RunStep(ctx, meta.StepReadDBT); err != nil {
		return nil, &MetaStepError{Step: MetaStepDBT, Err: err}
	}
	report, err := p.Run(ctx)
	if err != nil {
		return nil, &MetaStepError{Step: MetaStepAnalysis, Err: err}
	}
	return report, nil
}

// AnalyseAndStage runs the metapipeline once outside the run queue: the
// analysis (Analyse), then staging its proposals, the same chain the
// built-in DAG runs. On a staging failure the report and the items staged
// so far come back with the error.
func (e *Engine) AnalyseAndStage(ctx context.Context) (*meta.Report, []*review.Item, error) {
	report, err := e.Analyse(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc, err := e.reviewService(ctx, true)
	if err != nil {
		return report, nil, err
	}
	items, err := e.stage(ctx, svc, report, func(string, ...any) {})
	if err != nil {
		return report, items, &MetaStepError{Step: MetaStepStaging, Err: err}
	}
	return report, items, nil
}

// RunMeta implements API: it queues a run of the metapipeline, unless one
// is already waiting to start. Callers say what they were doing: the error
// is bare.
func (e *Engine) RunMeta(ctx context.Context) error {
	if e.meta == nil {
		return ErrMetaNotConfigured
	}
	if e.runner.QueuedCount(meta.DAGName) > 0 {
		return nil
	}
	_, err := e.Trigger(ctx, meta.DAGName, nil)
	return err
}
