// Package lineage joins the dbt graph and the BI graph into one: dbt nodes
// and exposures, Mode queries and reports, with edges model → model,
// model → query (the query's SQL reads the model's relation), query →
// report and model → exposure. On it, it finds the models nothing consumes.
package lineage

import (
	"sort"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

// Node kinds beyond dbt's resource types.
const (
	KindQuery  = "mode_query"
	KindReport = "mode_report"
)

// Node is a vertex of the holistic graph.
type Node struct {
	// Key is the dbt unique_id, "mode.report.<token>" or
	// "mode.query.<report>.<token>".
	Key  string
	Kind string // a dbt resource type, KindQuery or KindReport
	Name string
}

// ReportKey and QueryKey name Mode nodes.
func ReportKey(token string) string        { return "mode.report." + token }
func QueryKey(report, token string) string { return "mode.query." + report + "." + token }

// Graph is the holistic graph. It wraps a gonum directed graph: the
// traversals here are single passes, and gonum is not their bottleneck.
type Graph struct {
	g     *simple.DirectedGraph
	ids   map[string]int64
	nodes []Node // by gonum id
	bi    bool   // built with a BI workspace
}

func newGraph() *Graph {
	return &Graph{g: simple.NewDirectedGraph(), ids: map[string]int64{}}
}

func (g *Graph) add(n Node) int64 {
	if id, ok := g.ids[n.Key]; ok {
		return id
	}
	id := int64(len(g.nodes))
	g.nodes = append(g.nodes, n)
	g.ids[n.Key] = id
	g.g.AddNode(simple.Node(id))
	return id
}

func (g *Graph) link(from, to string) {
	f, okF := g.ids[from]
	t, okT := g.ids[to]
	if okF && okT && f != t && !g.g.HasEdgeFromTo(f, t) {
		g.g.SetEdge(simple.Edge{F: simple.Node(f), T: simple.Node(t)})
	}
}

// Build assembles the graph. Every dbt node the manifest reader kept is a
// node (semantic models and metrics too: they carry models to exposures);
// parent_map gives the dbt edges. Each non-archived report and its queries
// are nodes, with an edge from every node a query's SQL reads.
func Build(m *dbt.Manifest, bi *mode.Graph, links []QueryLink) *Graph {
	g := newGraph()
	g.bi = bi != nil
	for _, id := range m.IDs() {
		n := m.Nodes[id]
		g.add(Node{Key: id, Kind: n.ResourceType, Name: n.Name})
	}
	for _, child := range m.IDs() {
		for _, parent := range m.ParentMap[child] {
			g.link(parent, child)
		}
	}
	if bi != nil {
		for _, r := range bi.Reports {
			if r.Archived {
				continue
			}
			g.add(Node{Key: ReportKey(r.Token), Kind: KindReport, Name: r.Name})
			for _, q := range bi.Queries[r.Token] {
				key := QueryKey(r.Token, q.Token)
				g.add(Node{Key: key, Kind: KindQuery, Name: q.Name})
				g.link(key, ReportKey(r.Token))
			}
		}
	}
	for _, l := range links {
		for _, ref := range l.Refs {
			for _, id := range ref.IDs {
				g.link(id, QueryKey(l.Report, l.Query))
			}
		}
	}
	return g
}

// Gonum exposes the graph for gonum's algorithms; node ids index Node.
func (g *Graph) Gonum() graph.Directed { return g.g }

// Node returns the node with the key.
func (g *Graph) Node(key string) (Node, bool) {
	id, ok := g.ids[key]
	if !ok {
		return Node{}, false
	}
	return g.nodes[id], true
}

// Len is the number of nodes; Edges the number of edges.
func (g *Graph) Len() int   { return len(g.nodes) }
func (g *Graph) Edges() int { return g.g.Edges().Len() }

// Parents and Children return neighbour keys, sorted.
func (g *Graph) Parents(key string) []string  { return g.keys(key, g.g.To) }
func (g *Graph) Children(key string) []string { return g.keys(key, g.g.From) }

func (g *Graph) keys(key string, next func(int64) graph.Nodes) []string {
	id, ok := g.ids[key]
	if !ok {
		return nil
	}
	var out []string
	for it := next(id); it.Next(); {
		out = append(out, g.nodes[it.Node().ID()].Key)
	}
	sort.Strings(out)
	return out
}

// Kinds counts nodes per kind.
func (g *Graph) Kinds() map[string]int {
	out := map[string]int{}
	for _, n := range g.nodes {
		out[n.Kind]++
	}
	return out
}

// reversed walks the graph against its edges, from a node to its parents
// (traverse.Graph).
type reversed struct{ g *simple.DirectedGraph }

func (r reversed) From(id int64) graph.Nodes      { return r.g.To(id) }
func (r reversed) Edge(uid, vid int64) graph.Edge { return r.g.Edge(vid, uid) }
