package centrality_test

import (
	"context"
	"fmt"
	"testing"

	"gonum.org/v1/gonum/graph/network"
	"gonum.org/v1/gonum/graph/path"
	"gonum.org/v1/gonum/graph/simple"

	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/internal/synth"
)

// The benchmark graphs are synth.DAG(models, 1): 3,000 models are 3,360
// nodes and 8,618 edges. testdata/meta/networkx_bench.py times networkx on
// the very same graphs.

func benchGraph(models int) *centrality.Graph {
	sg := synth.DAG(models, 1)
	return centrality.New(len(sg.Names), sg.Edges)
}

func BenchmarkCentrality(b *testing.B) {
	ctx := context.Background()
	for _, models := range []int{3000, 20000} {
		g := benchGraph(models)
		for _, workers := range []int{1, 0} {
			suffix := ""
			if workers == 1 {
				suffix = "-1worker"
			}
			b.Run(fmt.Sprintf("models=%d/all%s", models, suffix), func(b *testing.B) {
				for b.Loop() {
					if _, err := centrality.Compute(ctx, g, centrality.Options{Workers: workers}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("models=%d/betweenness%s", models, suffix), func(b *testing.B) {
				for b.Loop() {
					if _, err := centrality.Betweenness(ctx, g, workers); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("models=%d/closeness%s", models, suffix), func(b *testing.B) {
				for b.Loop() {
					if _, err := centrality.Closeness(ctx, g, workers); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("models=%d/pagerank", models), func(b *testing.B) {
			for b.Loop() {
				centrality.PageRank(g, 0.85)
			}
		})
		b.Run(fmt.Sprintf("models=%d/degree", models), func(b *testing.B) {
			for b.Loop() {
				centrality.Degree(g)
			}
		})
	}
}

// BenchmarkGonum measures gonum's graph/network on the 3,000-model graph:
// the figures that decided for the array kernels above (BENCHMARKS.md).
// gonum's closeness needs all-pairs shortest paths first (an n×n matrix:
// 4 GB of float64 for the 22,400 nodes of 20,000 models, so not run there).
func BenchmarkGonum(b *testing.B) {
	sg := synth.DAG(3000, 1)
	gg := simple.NewDirectedGraph()
	for i := range sg.Names {
		gg.AddNode(simple.Node(i))
	}
	for _, e := range sg.Edges {
		gg.SetEdge(simple.Edge{F: simple.Node(e[0]), T: simple.Node(e[1])})
	}
	b.Run("models=3000/betweenness", func(b *testing.B) {
		for b.Loop() {
			network.Betweenness(gg)
		}
	})
	b.Run("models=3000/closeness", func(b *testing.B) {
		for b.Loop() {
			network.Closeness(gg, path.DijkstraAllPaths(gg))
		}
	})
	b.Run("models=3000/pagerank", func(b *testing.B) {
		for b.Loop() {
			network.PageRankSparse(gg, 0.85, 1e-10)
		}
	})
	b.Run("models=3000/from-gonum", func(b *testing.B) {
		for b.Loop() {
			centrality.FromGonum(gg)
		}
	})
}
