// Package centrality computes the centrality measures networkx computes by
// default — degree, in-degree, out-degree, closeness, betweenness and
// PageRank — numerically equal to networkx, on graphs of tens of thousands
// of nodes, plus an importance score that combines them.
//
// The measures run on a compact array graph (CSR adjacency in both
// directions) rather than on gonum's graph types: the BFS and Brandes
// kernels touch only the nodes a source reaches and reuse their buffers, and
// that is where the time goes (BENCHMARKS.md, section meta, has gonum's
// figures beside these). gonum stays the way in for callers that hold a
// gonum graph (FromGonum).
package centrality

import (
	"slices"
	"sort"

	"gonum.org/v1/gonum/graph"
)

// Graph is a directed graph over nodes 0..N-1 in compressed sparse row form.
// Parallel edges collapse into one, as in a networkx DiGraph.
type Graph struct {
	n              int
	outOff, outAdj []int32 // successors of v: outAdj[outOff[v]:outOff[v+1]]
	inOff, inAdj   []int32 // predecessors of v
}

// New builds a graph of n nodes from parent → child edges.
func New(n int, edges [][2]int) *Graph {
	es := make([][2]int32, 0, len(edges))
	for _, e := range edges {
		if e[0] < 0 || e[0] >= n || e[1] < 0 || e[1] >= n {
			panic("centrality: edge end out of range")
		}
		es = append(es, [2]int32{int32(e[0]), int32(e[1])})
	}
	slices.SortFunc(es, func(a, b [2]int32) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	es = slices.Compact(es)
	g := &Graph{n: n}
	g.outOff, g.outAdj = csr(n, es, 0)
	g.inOff, g.inAdj = csr(n, es, 1)
	return g
}

// csr groups edges by their end `by` (0: source, 1: target).
func csr(n int, es [][2]int32, by int) (off, adj []int32) {
	off = make([]int32, n+1)
	for _, e := range es {
		off[e[by]+1]++
	}
	for i := 0; i < n; i++ {
		off[i+1] += off[i]
	}
	adj = make([]int32, len(es))
	fill := slices.Clone(off[:n])
	for _, e := range es {
		adj[fill[e[by]]] = e[1-by]
		fill[e[by]]++
	}
	return off, adj
}

// N is the number of nodes.
func (g *Graph) N() int { return g.n }

// Edges is the number of edges.
func (g *Graph) Edges() int { return len(g.outAdj) }

// Out returns v's successors; the slice is shared.
func (g *Graph) Out(v int) []int32 { return g.outAdj[g.outOff[v]:g.outOff[v+1]] }

// In returns v's predecessors; the slice is shared.
func (g *Graph) In(v int) []int32 { return g.inAdj[g.inOff[v]:g.inOff[v+1]] }

// FromGonum copies a gonum directed graph. Node i of the result is ids[i];
// ids are sorted.
func FromGonum(gg graph.Directed) (g *Graph, ids []int64) {
	nodes := graph.NodesOf(gg.Nodes())
	ids = make([]int64, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID()
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	index := make(map[int64]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	var edges [][2]int
	for i, id := range ids {
		for _, to := range graph.NodesOf(gg.From(id)) {
			edges = append(edges, [2]int{i, index[to.ID()]})
		}
	}
	return New(len(ids), edges), ids
}
