package meta

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/exposures"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
)

// Report is one analysis' outcome.
type Report struct {
	GeneratedAt time.Time
	Manifest    ManifestSummary
	// BI is nil when the analysis ran on dbt alone.
	BI *BISummary
	// Centrality of every model, by importance, best first.
	Centrality []centrality.Ranked
	Candidates []Candidate
	// UnusedSources are the source tables no consumer reads (reported;
	// proposed for removal only with IncludeSources).
	UnusedSources []lineage.Candidate
	// HeldVersions are unused versions of a versioned model that are not
	// proposed because another of its versions is consumed; each Reason
	// says which.
	HeldVersions []lineage.Candidate
	// Evidence counts the consumers the analysis knows of.
	Evidence lineage.Evidence
	// Notice says why no clean-up is proposed when the analysis cannot
	// tell used from unused (NoEvidence); empty otherwise.
	Notice string
	Stale  []StaleReport
	// ModelsPerDay is the distinct models run per day, oldest first.
	ModelsPerDay []dbt.DayCount
	// Runtimes of models, from the run history.
	Runtimes  map[string]Runtime
	Exposures Exposures
}

// ManifestSummary describes the manifest analysed.
type ManifestSummary struct {
	Path          string `json:"path,omitempty"`
	Project       string `json:"project"`
	SchemaVersion int    `json:"schema_version"`
	DBTVersion    string `json:"dbt_version"`
	Adapter       string `json:"adapter"`
	Models        int    `json:"models"`
	LocalModels   int    `json:"local_models"`
	Seeds         int    `json:"seeds"`
	Snapshots     int    `json:"snapshots"`
	Sources       int    `json:"sources"`
	Exposures     int    `json:"exposures"`
}

// BISummary describes the BI workspace and how well its SQL linked.
type BISummary struct {
	Workspace       string `json:"workspace"`
	Spaces          int    `json:"spaces"`
	Reports         int    `json:"reports"`
	ArchivedReports int    `json:"archived_reports"`
	Queries         int    `json:"queries"`
	// LinkedQueries read at least one dbt node.
	LinkedQueries int `json:"linked_queries"`
	// Unmatched are references to relations the manifest does not have
	// (raw tables, other projects, typos).
	Unmatched []UnmatchedRef `json:"unmatched_refs"`
	// DefinitionQueries pull in Mode definitions, whose SQL is not read:
	// the tables behind them are not linked.
	DefinitionQueries int `json:"definition_queries"`
	// TemplatedRefs are table positions filled by Liquid templates.
	TemplatedRefs int `json:"templated_refs"`
}

// UnmatchedRef is a query's reference to no dbt relation.
type UnmatchedRef struct {
	Report string `json:"report"`
	Query  string `json:"query"`
	Ref    string `json:"ref"`
}

// NoEvidence is the analysis' notice when it knows no consumer at all: no BI
// workspace, no exposure, no semantic object. Every model would look
// unused, so none is proposed.
const NoEvidence = "no consumers known: connect Mode or declare exposures before clean-ups are proposed"

// Candidate is a deprecation candidate with the model's importance and
// the evidence a reviewer weighs.
type Candidate struct {
	lineage.Candidate
	Importance float64
	Evidence   api.ReviewEvidence
}

// StaleReport is a report proposed for archiving.
type StaleReport struct {
	Token     string
	Name      string
	URL       string
	Rule      string // stale.RuleNotRun or stale.RuleLowUsage
	Reason    string
	LastRunAt time.Time
	Runs      int
	Views     int
}

// Runtime sums a model's executions in the run history.
type Runtime struct {
	Runs        int     `json:"runs"`
	MeanSeconds float64 `json:"mean_seconds"`
	LastSeconds float64 `json:"last_seconds"`
	LastStatus  string  `json:"last_status"`
}

// Exposures is the regenerated exposures file; empty without a BI source.
type Exposures struct {
	Path    string
	YAML    []byte
	Reports []string // tokens of the reports it declares
	// Entries are the exposures in the file, by name (Meta.ModeReportToken
	// ties each to its report).
	Entries []exposures.Exposure
}

func buildReport(_ context.Context, p *Pipeline) error {
	s := &p.state
	m := s.Manifest
	r := &Report{
		GeneratedAt: p.in.now().UTC(),
		Centrality:  s.Centrality,
		Runtimes:    map[string]Runtime{},
	}
	r.Manifest = ManifestSummary{
		Path: p.in.ManifestPath, Project: m.Metadata.ProjectName, SchemaVersion: m.Version,
		DBTVersion: m.Metadata.DBTVersion, Adapter: m.Metadata.AdapterType,
		Models: len(m.IDs(dbt.Model)), Seeds: len(m.IDs(dbt.Seed)), Snapshots: len(m.IDs(dbt.Snapshot)),
		Sources: len(m.IDs(dbt.Source)), Exposures: len(m.IDs(dbt.Exposure)),
	}
	for _, id := range m.IDs(dbt.Model) {
		if m.IsLocal(m.Nodes[id]) {
			r.Manifest.LocalModels++
		}
	}
	measures := map[string]centrality.Measures{}
	for _, c := range s.Centrality {
		measures[c.ID] = c.Measures
	}
	readers := biReaders(s)
	for _, c := range s.Candidates {
		r.Candidates = append(r.Candidates, Candidate{Candidate: c, Importance: measures[c.UniqueID].Importance,
			Evidence: candidateEvidence(s, c.UniqueID, measures[c.UniqueID], readers[c.UniqueID])})
	}
	r.UnusedSources, r.Evidence, r.HeldVersions = s.UnusedSources, s.Evidence, s.HeldVersions
	if !s.Evidence.Any() {
		r.Notice = NoEvidence
	}
	for _, v := range s.Stale {
		r.Stale = append(r.Stale, StaleReport{
			Token: v.Report.Token, Name: v.Report.Name, URL: v.Report.URL, Rule: v.Rule, Reason: v.Reason,
			LastRunAt: v.Report.LastRunAt, Runs: v.Report.RunsCount, Views: v.Report.ViewCount,
		})
	}
	r.ModelsPerDay = s.History.ModelsPerDay()
	for id, rt := range s.History.Runtimes {
		r.Runtimes[id] = Runtime{Runs: rt.Runs, MeanSeconds: rt.Mean().Seconds(), LastSeconds: rt.Last.Seconds(), LastStatus: rt.LastStatus}
	}
	if s.BI != nil {
		bi := &BISummary{Workspace: s.BI.Workspace, Spaces: len(s.BI.Spaces), Reports: len(s.BI.Reports), Unmatched: []UnmatchedRef{}}
		for _, rep := range s.BI.Reports {
			if rep.Archived {
				bi.ArchivedReports++
			}
		}
		for _, l := range s.Links {
			bi.Queries++
			if len(l.Refs) > 0 {
				bi.LinkedQueries++
			}
			if len(l.Definitions) > 0 {
				bi.DefinitionQueries++
			}
			bi.TemplatedRefs += len(l.Templated)
			for _, u := range l.Unmatched {
				bi.Unmatched = append(bi.Unmatched, UnmatchedRef{Report: l.Report, Query: l.Query, Ref: u.String()})
			}
		}
		r.BI = bi
		r.Exposures = Exposures{Path: p.exposuresPath(), YAML: s.ExposuresYAML, Entries: s.Exposures}
		for _, er := range s.ExposureReports {
			r.Exposures.Reports = append(r.Exposures.Reports, er.Token)
		}
	}
	s.Report = r
	return nil
}

// Top returns the n most important models (all when n <= 0).
func (r *Report) Top(n int) []centrality.Ranked {
	if n <= 0 || n > len(r.Centrality) {
		n = len(r.Centrality)
	}
	return r.Centrality[:n]
}

// The JSON form: the field names issue 7 specifies for centrality,
// candidates, stale_reports and models_per_day, plus summaries.
type jsonReport struct {
	GeneratedAt  time.Time                      `json:"generated_at"`
	Manifest     ManifestSummary                `json:"manifest"`
	BI           *BISummary                     `json:"bi"`
	Centrality   map[string]centrality.Measures `json:"centrality"`
	Candidates   []jsonCandidate                `json:"candidates"`
	Unused       []jsonSource                   `json:"unused_sources"`
	Evidence     lineage.Evidence               `json:"consumer_evidence"`
	Notice       string                         `json:"notice,omitempty"`
	StaleReports []jsonStale                    `json:"stale_reports"`
	ModelsPerDay map[string]int                 `json:"models_per_day"`
	Runtimes     map[string]Runtime             `json:"runtimes"`
	Exposures    *jsonExposures                 `json:"exposures,omitempty"`
}

type jsonCandidate struct {
	UniqueID string   `json:"unique_id"`
	Reason   string   `json:"reason"`
	Files    []string `json:"files"`
}

type jsonSource struct {
	UniqueID string `json:"unique_id"`
	Source   string `json:"source_name"`
	Table    string `json:"name"`
	Reason   string `json:"reason"`
	File     string `json:"file"`
}

type jsonStale struct {
	Token  string `json:"token"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

type jsonExposures struct {
	Path    string   `json:"path"`
	Reports []string `json:"reports"`
	YAML    string   `json:"yaml"`
}

// MarshalJSON writes the report in its documented JSON form.
func (r *Report) MarshalJSON() ([]byte, error) {
	out := jsonReport{
		GeneratedAt:  r.GeneratedAt,
		Manifest:     r.Manifest,
		BI:           r.BI,
		Centrality:   make(map[string]centrality.Measures, len(r.Centrality)),
		Candidates:   []jsonCandidate{},
		Unused:       []jsonSource{},
		Evidence:     r.Evidence,
		Notice:       r.Notice,
		StaleReports: []jsonStale{},
		ModelsPerDay: map[string]int{},
		Runtimes:     r.Runtimes,
	}
	for _, c := range r.Centrality {
		out.Centrality[c.ID] = c.Measures
	}
	for _, c := range r.Candidates {
		files := c.Files
		if files == nil {
			files = []string{}
		}
		out.Candidates = append(out.Candidates, jsonCandidate{UniqueID: c.UniqueID, Reason: c.Reason, Files: files})
	}
	for _, c := range r.UnusedSources {
		out.Unused = append(out.Unused, jsonSource{UniqueID: c.UniqueID, Source: c.SourceName, Table: c.Name, Reason: c.Reason, File: c.PatchPath})
	}
	for _, s := range r.Stale {
		out.StaleReports = append(out.StaleReports, jsonStale{Token: s.Token, Name: s.Name, Reason: s.Reason})
	}
	for _, d := range r.ModelsPerDay {
		out.ModelsPerDay[d.Day] = d.Count
	}
	if r.BI != nil {
		reports := r.Exposures.Reports
		if reports == nil {
			reports = []string{}
		}
		out.Exposures = &jsonExposures{Path: r.Exposures.Path, Reports: reports, YAML: string(r.Exposures.YAML)}
	}
	if out.Runtimes == nil {
		out.Runtimes = map[string]Runtime{}
	}
	return json.Marshal(out)
}

// CandidatesByImportance returns the candidates most important first (for
// callers that show the riskiest deletions at the top).
func (r *Report) CandidatesByImportance() []Candidate {
	out := append([]Candidate(nil), r.Candidates...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Importance > out[j].Importance })
	return out
}
