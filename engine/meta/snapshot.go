package meta

import "github.com/sluice-dev/sluice/engine/api"

// Snapshot converts the report into the read model the console renders.
func (r *Report) Snapshot() *api.MetaReport {
	out := &api.MetaReport{
		At:           r.GeneratedAt,
		Centrality:   make([]api.Centrality, len(r.Centrality)),
		ModelsPerDay: make([]api.DayCount, len(r.ModelsPerDay)),
		Candidates:   len(r.Candidates),
		StaleReports: len(r.Stale),
		Notice:       r.Notice,
	}
	for i, c := range r.Centrality {
		out.Centrality[i] = api.Centrality{
			ID: c.ID, Degree: c.Degree, InDegree: c.InDegree, OutDegree: c.OutDegree,
			Closeness: c.Closeness, Betweenness: c.Betweenness, PageRank: c.PageRank, Importance: c.Importance,
		}
	}
	for i, d := range r.ModelsPerDay {
		out.ModelsPerDay[i] = api.DayCount{Day: d.Day, Count: d.Count}
	}
	return out
}
