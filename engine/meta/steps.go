package meta

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/exposures"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
	"github.com/sluice-dev/sluice/engine/meta/sqlref"
	"github.com/sluice-dev/sluice/engine/meta/stale"
)

func readDBT(_ context.Context, p *Pipeline) error {
	m := p.in.Manifest
	if m == nil {
		if p.in.ManifestPath == "" {
			return errors.New("no dbt manifest given")
		}
		var err error
		if m, err = dbt.ReadManifestFile(p.in.ManifestPath); err != nil {
			return err
		}
	}
	h := dbt.NewHistory()
	if p.in.RunResultsDir != "" {
		var err error
		if h, err = dbt.ReadRunResultsDir(p.in.RunResultsDir); err != nil {
			return err
		}
		if len(h.Skipped) > 0 {
			p.log.Info("run results: skipped files that are not run_results", "files", h.Skipped)
		}
	}
	p.state.Manifest, p.state.History = m, h
	p.log.Info("dbt artifacts read", "project", m.Metadata.ProjectName, "schema", m.Version,
		"models", len(m.IDs(dbt.Model)), "run_results", len(h.Files))
	return nil
}

func readBI(ctx context.Context, p *Pipeline) error {
	if p.in.BI == nil {
		return nil
	}
	g, err := p.in.BI.Graph(ctx)
	if err != nil {
		return fmt.Errorf("reading the BI graph: %w", err)
	}
	p.state.BI = g
	queries := 0
	for _, qs := range g.Queries {
		queries += len(qs)
	}
	p.log.Info("BI graph read", "workspace", g.Workspace, "spaces", len(g.Spaces), "reports", len(g.Reports), "queries", queries)
	return nil
}

func staleReports(_ context.Context, p *Pipeline) error {
	if p.state.BI == nil {
		p.state.Stale = nil
		return nil
	}
	rules := stale.DefaultRules()
	if p.in.Stale != nil {
		rules = *p.in.Stale
	}
	p.state.Stale = stale.Find(p.state.BI.Reports, p.in.now(), rules)
	return nil
}

func linkSQL(_ context.Context, p *Pipeline) error {
	ix := sqlref.NewIndex(lineage.Relations(p.state.Manifest))
	ix.Loose = p.in.LooseMatching
	p.state.Links = lineage.LinkQueries(ix, p.state.BI)
	return nil
}

func buildGraph(_ context.Context, p *Pipeline) error {
	p.state.Graph = lineage.Build(p.state.Manifest, p.state.BI, p.state.Links)
	return nil
}

func (p *Pipeline) exposuresPath() string {
	if p.in.ExposuresPath != "" {
		return p.in.ExposuresPath
	}
	return exposures.DefaultPath
}

func candidates(_ context.Context, p *Pipeline) error {
	staleNames := map[string]string{}
	for _, v := range p.state.Stale {
		staleNames[v.Report.Token] = v.Report.Name
	}
	res := lineage.Analyze(p.state.Graph, p.state.Manifest, lineage.CandidateOptions{
		Keep:                p.in.Keep,
		Stale:               staleNames,
		IgnoreExposureFiles: []string{p.exposuresPath()},
		IncludePackages:     p.in.IncludePackages,
	})
	p.state.Candidates, p.state.UnusedSources, p.state.Evidence = res.Models, res.Sources, res.Evidence
	p.state.HeldVersions = res.Held
	if !res.Evidence.Any() {
		// No evidence, no proposal: without a single known consumer the
		// whole project looks unused (issue 14 staged "Remove 13 models").
		p.state.Candidates, p.state.UnusedSources = nil, nil
		p.log.Warn("metapipeline: " + NoEvidence)
	}
	return nil
}

func computeCentrality(ctx context.Context, p *Pipeline) error {
	ranked, err := centrality.Models(ctx, p.state.Manifest, p.in.Centrality)
	if err != nil {
		return err
	}
	p.state.Centrality = ranked
	return nil
}

// generateExposures writes one exposure per active report: not archived,
// not stale, reading at least one dbt node.
func generateExposures(_ context.Context, p *Pipeline) error {
	if p.state.BI == nil {
		p.state.ExposureReports, p.state.Exposures, p.state.ExposuresYAML = nil, nil, nil
		return nil
	}
	isStale := map[string]bool{}
	for _, v := range p.state.Stale {
		isStale[v.Report.Token] = true
	}
	deps := map[string]map[string]bool{}
	for _, l := range p.state.Links {
		for _, r := range l.Refs {
			if deps[l.Report] == nil {
				deps[l.Report] = map[string]bool{}
			}
			for _, id := range r.IDs {
				deps[l.Report][id] = true
			}
		}
	}
	var reports []exposures.Report
	for _, r := range p.state.BI.Reports {
		if r.Archived || isStale[r.Token] || len(deps[r.Token]) == 0 {
			continue
		}
		er := exposures.Report{Token: r.Token, Name: r.Name, Description: r.Description, URL: r.URL, Creator: r.Creator}
		for id := range deps[r.Token] {
			er.DependsOn = append(er.DependsOn, id)
		}
		sort.Strings(er.DependsOn)
		reports = append(reports, er)
	}
	exps, err := exposures.Build(reports, p.state.Manifest, p.in.Exposures)
	if err != nil {
		return err
	}
	yaml, err := exposures.Render(exps)
	if err != nil {
		return err
	}
	p.state.ExposureReports, p.state.Exposures, p.state.ExposuresYAML = reports, exps, yaml
	return nil
}
