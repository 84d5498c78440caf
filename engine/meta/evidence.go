package meta

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
)

// candidateEvidence gathers what a reviewer weighs before deleting a model:
// the consumers it reaches none of, its last run, its place in the graph
// and the BI queries that read it.
func candidateEvidence(s *State, id string, m centrality.Measures, queries []string) api.ReviewEvidence {
	ev := api.ReviewEvidence{
		Unreached: Unreached(s.Evidence),
		Centrality: api.Centrality{ID: id, Degree: m.Degree, InDegree: m.InDegree, OutDegree: m.OutDegree,
			Closeness: m.Closeness, Betweenness: m.Betweenness, PageRank: m.PageRank, Importance: m.Importance},
		BIQueries: queries,
	}
	if s.History != nil {
		if rt := s.History.Runtimes[id]; rt != nil {
			ev.LastRunAt, ev.LastRuntime, ev.LastStatus, ev.Runs = rt.LastAt.UTC(), rt.Last, rt.LastStatus, rt.Runs
		}
	}
	return ev
}

// Unreached names the consumers the analysis knows of, which an unused
// model reaches none of: "2 exposures, 5 semantic objects, 41 live BI
// queries, 1 keep rule".
func Unreached(e lineage.Evidence) string {
	var parts []string
	add := func(n int, one, many string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, map[bool]string{true: one, false: many}[n == 1]))
		}
	}
	add(e.Exposures, "exposure", "exposures")
	add(e.Semantic, "semantic object (semantic model, metric or saved query)", "semantic objects (semantic models, metrics, saved queries)")
	add(e.Queries, "live BI query", "live BI queries")
	add(e.Kept, "keep rule", "keep rules")
	if len(parts) == 0 {
		return "no consumer known"
	}
	return "reaches none of " + strings.Join(parts, ", ")
}

// biReaders lists, by model, the BI queries whose SQL reads it directly,
// as "report name / query name (report/query)".
func biReaders(s *State) map[string][]string {
	out := map[string][]string{}
	if s.BI == nil {
		return out
	}
	names := map[string]string{}
	for _, r := range s.BI.Reports {
		names[r.Token] = r.Name
	}
	for _, l := range s.Links {
		label := fmt.Sprintf("%s / %s (%s/%s)", orToken(names[l.Report], l.Report), orToken(l.QueryName, l.Query), l.Report, l.Query)
		seen := map[string]bool{}
		for _, ref := range l.Refs {
			for _, id := range ref.IDs {
				if !seen[id] {
					seen[id] = true
					out[id] = append(out[id], label)
				}
			}
		}
	}
	for id := range out {
		sort.Strings(out[id])
	}
	return out
}

func orToken(name, token string) string {
	if name == "" {
		return token
	}
	return name
}
