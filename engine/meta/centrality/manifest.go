package centrality

import (
	"context"
	"fmt"
	"sort"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
)

// GraphKinds are the resource types of the manifest graph centrality runs
// on. Tests, metrics, semantic models and saved queries are left out.
var GraphKinds = []string{dbt.Model, dbt.Seed, dbt.Snapshot, dbt.Source, dbt.Exposure}

// ManifestGraph builds the graph centrality is defined on: every model,
// seed, snapshot, source and exposure is a node (ids sorted), and each
// parent_map entry whose two ends are such nodes is an edge parent → child.
func ManifestGraph(m *dbt.Manifest) (*Graph, []string) {
	ids := m.IDs(GraphKinds...)
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	var edges [][2]int
	for _, child := range ids {
		for _, parent := range m.ParentMap[child] {
			if p, ok := index[parent]; ok {
				edges = append(edges, [2]int{p, index[child]})
			}
		}
	}
	return New(len(ids), edges), ids
}

// Measures are one node's centralities.
type Measures struct {
	Degree      float64 `json:"degree"`
	InDegree    float64 `json:"in_degree"`
	OutDegree   float64 `json:"out_degree"`
	Closeness   float64 `json:"closeness"`
	Betweenness float64 `json:"betweenness"`
	PageRank    float64 `json:"pagerank"`
	// Importance is the rank-average of the six measures among the nodes
	// scored together (see Importance).
	Importance float64 `json:"importance"`
}

// Options tune Compute.
type Options struct {
	// Alpha is PageRank's damping factor; 0 means networkx's 0.85.
	Alpha float64
	// Workers bounds the goroutines of closeness and betweenness; 0 means
	// GOMAXPROCS.
	Workers int
}

// Scores are all six measures for every node of a graph.
type Scores struct {
	Degree, InDegree, OutDegree, Closeness, Betweenness, PageRank []float64
}

// Compute runs every measure on g.
func Compute(ctx context.Context, g *Graph, o Options) (*Scores, error) {
	if o.Alpha == 0 {
		o.Alpha = 0.85
	}
	s := &Scores{}
	s.Degree, s.InDegree, s.OutDegree = Degree(g)
	var err error
	if s.Closeness, err = Closeness(ctx, g, o.Workers); err != nil {
		return nil, fmt.Errorf("closeness: %w", err)
	}
	if s.Betweenness, err = Betweenness(ctx, g, o.Workers); err != nil {
		return nil, fmt.Errorf("betweenness: %w", err)
	}
	s.PageRank = PageRank(g, o.Alpha)
	return s, nil
}

// Of returns node v's measures, with Importance left 0.
func (s *Scores) Of(v int) Measures {
	return Measures{
		Degree: s.Degree[v], InDegree: s.InDegree[v], OutDegree: s.OutDegree[v],
		Closeness: s.Closeness[v], Betweenness: s.Betweenness[v], PageRank: s.PageRank[v],
	}
}

func (s *Scores) all() [][]float64 {
	return [][]float64{s.Degree, s.InDegree, s.OutDegree, s.Closeness, s.Betweenness, s.PageRank}
}

// Ranked is a model's measures under its unique_id.
type Ranked struct {
	ID string
	Measures
}

// Models computes the measures on the manifest graph and returns them for
// every model (package models included), by importance, best first; ties
// by unique_id.
func Models(ctx context.Context, m *dbt.Manifest, o Options) ([]Ranked, error) {
	g, ids := ManifestGraph(m)
	s, err := Compute(ctx, g, o)
	if err != nil {
		return nil, err
	}
	var models []int
	for i, id := range ids {
		if m.Nodes[id].ResourceType == dbt.Model {
			models = append(models, i)
		}
	}
	imp := Importance(s.all(), models)
	out := make([]Ranked, len(models))
	for k, v := range models {
		out[k] = Ranked{ID: ids[v], Measures: s.Of(v)}
		out[k].Importance = imp[k]
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Importance != out[j].Importance {
			return out[i].Importance > out[j].Importance
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
