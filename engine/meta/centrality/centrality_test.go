package centrality_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/graph/network"
	"gonum.org/v1/gonum/graph/simple"

	"github.com/sluice-dev/sluice/engine/meta/centrality"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
	"github.com/sluice-dev/sluice/engine/meta/internal/synth"
)

// vectorCase is one graph of testdata/meta/centrality_vectors.json, written
// by gen_centrality_vectors.py with networkx.
type vectorCase struct {
	Name     string   `json:"name"`
	Nodes    []string `json:"nodes"`
	Edges    [][2]int `json:"edges"`
	Manifest string   `json:"manifest"`
	Synth    *struct {
		Models int    `json:"models"`
		Seed   uint64 `json:"seed"`
	} `json:"synth"`
	Degree      []float64 `json:"degree"`
	InDegree    []float64 `json:"in_degree"`
	OutDegree   []float64 `json:"out_degree"`
	Closeness   []float64 `json:"closeness"`
	Betweenness []float64 `json:"betweenness"`
	PageRank    []float64 `json:"pagerank"`
}

func loadVectors(t *testing.T) []vectorCase {
	t.Helper()
	data, err := os.ReadFile(fixtures.Testdata(t, "centrality_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Networkx string       `json:"networkx"`
		Cases    []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Networkx == "" || len(doc.Cases) < 20 {
		t.Fatalf("vectors file from networkx %q has %d cases", doc.Networkx, len(doc.Cases))
	}
	return doc.Cases
}

const tol = 1e-9

func compare(t *testing.T, what string, nodes []string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol || math.IsNaN(got[i]) {
			t.Errorf("%s of %s = %.17g, networkx %.17g", what, nodes[i], got[i], want[i])
		}
	}
}

func checkScores(t *testing.T, c vectorCase, s *centrality.Scores) {
	t.Helper()
	compare(t, "degree", c.Nodes, s.Degree, c.Degree)
	compare(t, "in_degree", c.Nodes, s.InDegree, c.InDegree)
	compare(t, "out_degree", c.Nodes, s.OutDegree, c.OutDegree)
	compare(t, "closeness", c.Nodes, s.Closeness, c.Closeness)
	compare(t, "betweenness", c.Nodes, s.Betweenness, c.Betweenness)
	compare(t, "pagerank", c.Nodes, s.PageRank, c.PageRank)
}

func TestMatchesNetworkx(t *testing.T) {
	t.Parallel()
	for _, c := range loadVectors(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			g := centrality.New(len(c.Nodes), c.Edges)
			for _, workers := range []int{1, 3} {
				s, err := centrality.Compute(context.Background(), g, centrality.Options{Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				checkScores(t, c, s)
			}
		})
	}
}

// The manifest cases also check the graph: ManifestGraph must build from
// the real manifest exactly the nodes and edges networkx was given.
func TestManifestGraphMatchesNetworkx(t *testing.T) {
	t.Parallel()
	n := 0
	for _, c := range loadVectors(t) {
		if c.Manifest == "" {
			continue
		}
		n++
		t.Run(c.Manifest, func(t *testing.T) {
			t.Parallel()
			m, err := dbt.ReadManifestFile(fixtures.Manifest(t, c.Manifest))
			if err != nil {
				t.Fatal(err)
			}
			g, ids := centrality.ManifestGraph(m)
			if !reflect.DeepEqual(ids, c.Nodes) {
				t.Fatalf("nodes = %v\nwant %v", ids, c.Nodes)
			}
			if got, want := edgeSet(g), edgeSetOf(c.Edges); !reflect.DeepEqual(got, want) {
				t.Fatalf("edges = %v\nwant %v", got, want)
			}
			s, err := centrality.Compute(context.Background(), g, centrality.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkScores(t, c, s)

			ranked, err := centrality.Models(context.Background(), m, centrality.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ranked) != len(m.IDs(dbt.Model)) {
				t.Fatalf("%d models ranked, manifest has %d", len(ranked), len(m.IDs(dbt.Model)))
			}
			index := map[string]int{}
			for i, id := range c.Nodes {
				index[id] = i
			}
			for k, r := range ranked {
				i := index[r.ID]
				if math.Abs(r.Betweenness-c.Betweenness[i]) > tol || math.Abs(r.PageRank-c.PageRank[i]) > tol ||
					math.Abs(r.Closeness-c.Closeness[i]) > tol || math.Abs(r.Degree-c.Degree[i]) > tol {
					t.Errorf("model %s measures %+v differ from networkx", r.ID, r.Measures)
				}
				if k > 0 && r.Importance > ranked[k-1].Importance {
					t.Errorf("not sorted by importance at %d", k)
				}
			}
		})
	}
	if n != len(fixtures.Manifests) {
		t.Errorf("%d manifest cases in the vectors, want %d", n, len(fixtures.Manifests))
	}
}

// The Python port of the generator must give the Go generator's graph, or
// the benchmark comparison would time two different graphs.
func TestSynthGeneratorMatchesPythonPort(t *testing.T) {
	t.Parallel()
	for _, c := range loadVectors(t) {
		if c.Synth == nil {
			continue
		}
		g := synth.DAG(c.Synth.Models, c.Synth.Seed)
		if !reflect.DeepEqual(g.Names, c.Nodes) {
			t.Fatalf("names differ:\n%v\n%v", g.Names, c.Nodes)
		}
		if !reflect.DeepEqual(g.Edges, c.Edges) {
			t.Fatalf("edges differ:\n%v\n%v", g.Edges, c.Edges)
		}
		return
	}
	t.Fatal("no synth case in the vectors")
}

func edgeSet(g *centrality.Graph) map[[2]int]bool {
	set := map[[2]int]bool{}
	for v := range g.N() {
		for _, w := range g.Out(v) {
			set[[2]int{v, int(w)}] = true
		}
	}
	return set
}

func edgeSetOf(edges [][2]int) map[[2]int]bool {
	set := map[[2]int]bool{}
	for _, e := range edges {
		set[e] = true
	}
	return set
}

func TestNewCollapsesParallelEdges(t *testing.T) {
	t.Parallel()
	g := centrality.New(3, [][2]int{{0, 1}, {0, 1}, {1, 2}, {0, 1}})
	if g.Edges() != 2 || len(g.In(1)) != 1 || len(g.Out(0)) != 1 {
		t.Errorf("edges = %d, in(1) = %v, out(0) = %v", g.Edges(), g.In(1), g.Out(0))
	}
}

// gonum's measures differ from networkx's in scaling (and closeness is +Inf
// where nothing reaches a node); rescaled, betweenness and PageRank agree,
// which cross-checks both implementations on a generated project.
func TestAgreesWithGonumRescaled(t *testing.T) {
	t.Parallel()
	sg := synth.DAG(300, 5)
	gg := simple.NewDirectedGraph()
	for i := range sg.Names {
		gg.AddNode(simple.Node(i))
	}
	for _, e := range sg.Edges {
		gg.SetEdge(simple.Edge{F: simple.Node(e[0]), T: simple.Node(e[1])})
	}
	g, ids := centrality.FromGonum(gg)
	s, err := centrality.Compute(context.Background(), g, centrality.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := float64(g.N())
	gb := network.Betweenness(gg)
	pr := network.PageRankSparse(gg, 0.85, 1e-13)
	for i, id := range ids {
		if want := gb[id] / ((n - 1) * (n - 2)); math.Abs(s.Betweenness[i]-want) > tol {
			t.Errorf("betweenness of %d = %g, gonum rescaled %g", id, s.Betweenness[i], want)
		}
		if math.Abs(s.PageRank[i]-pr[id]) > 1e-7 {
			t.Errorf("pagerank of %d = %g, gonum %g", id, s.PageRank[i], pr[id])
		}
	}
}

func TestImportance(t *testing.T) {
	t.Parallel()
	measures := [][]float64{
		{0.1, 0.5, 0.3, 0.3, 9},
		{1, 2, 3, 4, 9},
	}
	// Node 4 is outside the subset: it neither ranks nor shifts ranks.
	got := centrality.Importance(measures, []int{0, 1, 2, 3})
	// Measure 0 percentiles: 0.1→0, 0.3,0.3→(1+2)/2/3=0.5, 0.5→1.
	// Measure 1 percentiles: 0, 1/3, 2/3, 1.
	want := []float64{0, (1 + 1.0/3) / 2, (0.5 + 2.0/3) / 2, (0.5 + 1) / 2}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("importance = %v, want %v", got, want)
			break
		}
	}
	if got := centrality.Importance(measures, []int{2}); got[0] != 1 {
		t.Errorf("single node importance = %v, want 1", got)
	}
	// Rounding noise between equal values ties.
	if got := centrality.Importance([][]float64{{0.3, 0.1 + 0.2}}, []int{0, 1}); got[0] != got[1] {
		t.Errorf("0.3 and 0.1+0.2 ranked apart: %v", got)
	}
}

func TestComputeHonoursCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sg := synth.DAG(500, 1)
	if _, err := centrality.Compute(ctx, centrality.New(len(sg.Names), sg.Edges), centrality.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
