package meta

import "github.com/sluice-dev/sluice/engine/snapshot"

// Snapshot converts the report into the read model the console renders.
func (r *Report) Snapshot() *snapshot.MetaReport {
	out := &snapshot.MetaReport{
		At:           r.GeneratedAt,
		Centrality:   make([]snapshot.Centrality, len(r.Centrality)),
		ModelsPerDay: make([]snapshot.DayCount, len(r.ModelsPerDay)),
		Candidates:   len(r.Candidates),
		StaleReports: len(r.Stale),
		Notice:       r.Notice,
	}
	for i, c := range r.Centrality {
		out.Centrality[i] = snapshot.Centrality{
			ID: c.ID, Degree: c.Degree, InDegree: c.InDegree, OutDegree: c.OutDegree,
			Closeness: c.Closeness, Betweenness: c.Betweenness, PageRank: c.PageRank, Importance: c.Importance,
		}
	}
	for i, d := range r.ModelsPerDay {
		out.ModelsPerDay[i] = snapshot.DayCount{Day: d.Day, Count: d.Count}
	}
	return out
}
