// Package meta is the metapipeline's analysis: it reads the dbt artifacts
// and the BI workspace, finds stale reports, links the reports' SQL to dbt
// models, builds the holistic graph, finds deprecation candidates, ranks
// models by centrality and regenerates dbt exposures.
//
// The analysis is a Pipeline of named steps sharing one State. Each step is
// a task of the built-in `metapipeline` DAG (kind sluice.meta.<step>, see
// DAG), so the run queue shows its progress; Analyze runs them all at once
// for the CLI and tests.
package meta

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/exposures"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/meta/stale"
)

// BISource reads a BI workspace; *mode.Client is one.
type BISource interface {
	Graph(ctx context.Context) (*mode.Graph, error)
}

// Inputs are everything one analysis reads.
type Inputs struct {
	// ManifestPath is dbt's target/manifest.json; Manifest, when set, is
	// used instead (already read).
	ManifestPath string
	Manifest     *dbt.Manifest
	// RunResultsDir holds archived run_results.json files; empty skips the
	// run history.
	RunResultsDir string
	// BI is the Mode workspace; nil runs on dbt alone, where exposures are
	// the only consumers.
	BI BISource
	// Stale are the stale-report thresholds; nil means stale.DefaultRules.
	Stale *stale.Rules
	// Keep rules protect models from deprecation.
	Keep lineage.KeepRules
	// IncludePackages makes package models deprecation candidates too.
	IncludePackages bool
	// ExposuresPath is where the generated exposures file lives in the dbt
	// project (exposures.DefaultPath when empty). Exposures read from that
	// file are sluice's own and do not count as consumers.
	ExposuresPath string
	Exposures     exposures.Options
	Centrality    centrality.Options
	// LooseMatching lets qualified SQL references fall back to a bare-name
	// match (sqlref.Index.Loose).
	LooseMatching bool
	// Clock dates the stale rules and the report (nil: the real clock).
	Clock  clock.Clock
	Logger *slog.Logger
	// Timeout bounds Run (DefaultTimeout when zero, none when negative);
	// past it Run fails with ErrDeadline.
	Timeout time.Duration
	// Progress, when set, hears each step start and finish.
	Progress func(Progress)
}

func (in *Inputs) now() time.Time { return clock.Or(in.Clock).Now() }

// State is what the steps produce. Each step writes its own fields and reads
// only those of the steps it needs.
type State struct {
	Manifest   *dbt.Manifest // read_dbt
	History    *dbt.History  // read_dbt; empty without run results
	BI         *mode.Graph   // read_bi; nil without a BI source
	Stale      []stale.Verdict
	Links      []lineage.QueryLink
	Graph      *lineage.Graph
	Candidates []lineage.Candidate
	// UnusedSources are source tables nothing reads through a consumer;
	// Evidence counts the consumers the candidates were judged against.
	UnusedSources []lineage.Candidate
	// HeldVersions are unused versions of a model another version of which
	// is consumed: not proposed (a versioned model goes as one unit).
	HeldVersions []lineage.Candidate
	Evidence     lineage.Evidence
	Centrality   []centrality.Ranked // by importance, best first
	// ExposureReports are the active reports the exposures were made from,
	// Exposures the entries generated, ExposuresYAML the file.
	ExposureReports []exposures.Report
	Exposures       []exposures.Exposure
	ExposuresYAML   []byte
	Report          *Report
}

// Step is one step of the analysis.
type Step struct {
	Name  string
	Needs []string
	run   func(ctx context.Context, p *Pipeline) error
}

// Kind is the task kind of the step in the metapipeline DAG.
func (s Step) Kind() string { return KindPrefix + s.Name }

// KindPrefix prefixes the steps' task kinds.
const KindPrefix = "sluice.meta."

// Step names, in a valid order.
const (
	StepReadDBT      = "read_dbt"
	StepReadBI       = "read_bi"
	StepStaleReports = "stale_reports"
	StepLinkSQL      = "link_sql"
	StepBuildGraph   = "build_graph"
	StepCandidates   = "candidates"
	StepCentrality   = "centrality"
	StepExposures    = "exposures"
	StepReport       = "report"
)

var steps = []Step{
	{Name: StepReadDBT, run: readDBT},
	{Name: StepReadBI, run: readBI},
	{Name: StepStaleReports, Needs: []string{StepReadBI}, run: staleReports},
	{Name: StepLinkSQL, Needs: []string{StepReadDBT, StepReadBI}, run: linkSQL},
	{Name: StepBuildGraph, Needs: []string{StepLinkSQL}, run: buildGraph},
	{Name: StepCandidates, Needs: []string{StepBuildGraph, StepStaleReports}, run: candidates},
	{Name: StepCentrality, Needs: []string{StepReadDBT}, run: computeCentrality},
	{Name: StepExposures, Needs: []string{StepLinkSQL, StepStaleReports}, run: generateExposures},
	{Name: StepReport, Needs: []string{StepCandidates, StepCentrality, StepExposures}, run: buildReport},
}

// Steps returns the steps in a valid order.
func Steps() []Step { return append([]Step(nil), steps...) }

func stepByName(name string) (int, bool) {
	for i, s := range steps {
		if s.Name == name {
			return i, true
		}
	}
	return 0, false
}

// Pipeline runs the steps of one analysis over one State. Steps may be run
// one by one, in any order and concurrently: a step first runs the steps it
// needs that have not succeeded yet, and each step succeeds at most once. A
// failed step can be run again (a retried task).
type Pipeline struct {
	in    Inputs
	log   *slog.Logger
	state State
	marks []stepMark // by index in steps

	progressMu sync.Mutex
	started    time.Time
	current    string // the step last started or finished
	running    bool   // current has started and not finished
	done       int    // steps finished
}

type stepMark struct {
	mu   sync.Mutex
	done bool
	took time.Duration
}

// New returns a pipeline over in.
func New(in Inputs) *Pipeline {
	log := in.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{in: in, log: log, marks: make([]stepMark, len(steps))}
}

// RunStep runs a step (by name or task kind) after the steps it needs.
func (p *Pipeline) RunStep(ctx context.Context, name string) error {
	if len(name) > len(KindPrefix) && name[:len(KindPrefix)] == KindPrefix {
		name = name[len(KindPrefix):]
	}
	i, ok := stepByName(name)
	if !ok {
		return fmt.Errorf("metapipeline: unknown step %q", name)
	}
	for _, need := range steps[i].Needs {
		if err := p.RunStep(ctx, need); err != nil {
			return err
		}
	}
	m := &p.marks[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	p.report(name, false)
	if err := steps[i].run(ctx, p); err != nil {
		p.log.Warn("metapipeline step failed", "step", name, "err", err)
		return fmt.Errorf("metapipeline step %s: %w", name, err)
	}
	m.done, m.took = true, time.Since(start)
	p.report(name, true)
	p.log.Info("metapipeline step done", "step", name, "took", m.took)
	return nil
}

// Run runs every step, within Inputs.Timeout, and returns the report.
func (p *Pipeline) Run(ctx context.Context) (*Report, error) {
	ctx, cancel := p.withDeadline(ctx)
	defer cancel()
	if err := p.RunStep(ctx, StepReport); err != nil {
		return nil, p.deadlineError(ctx, err)
	}
	return p.state.Report, nil
}

// Done reports whether a step has succeeded.
func (p *Pipeline) Done(name string) bool {
	i, ok := stepByName(name)
	if !ok {
		return false
	}
	p.marks[i].mu.Lock()
	defer p.marks[i].mu.Unlock()
	return p.marks[i].done
}

// State returns the state. Read a step's fields only after it is Done.
func (p *Pipeline) State() *State { return &p.state }

// Analyze runs the whole analysis.
func Analyze(ctx context.Context, in Inputs) (*Report, error) {
	return New(in).Run(ctx)
}
