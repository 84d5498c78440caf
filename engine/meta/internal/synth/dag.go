// Package synth generates dbt-shaped graphs and manifests for tests and
// benchmarks. The generator is deterministic and uses integer arithmetic
// only, so testdata/meta/networkx_bench.py reproduces the same graph in
// Python and networkx can be timed on exactly the graph Go measures.
package synth

import "fmt"

// rng is splitmix64: tiny, and trivially ported to Python.
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// Graph is a generated dbt project graph. Node i is named Names[i]; Kinds[i]
// is "source", "model" or "exposure"; Edges are parent → child.
type Graph struct {
	Names []string
	Kinds []string
	Edges [][2]int
}

// Models returns the number of model nodes.
func (g *Graph) Models() int {
	n := 0
	for _, k := range g.Kinds {
		if k == "model" {
			n++
		}
	}
	return n
}

// DAG generates a layered project of `models` models the way dbt projects
// grow: sources (one per ten models), staging models reading one or two
// sources, intermediate models reading staging and earlier intermediate
// models, marts reading either, and exposures (one per fifty models) reading
// marts. Parents are drawn near the child's position so lineage stays local,
// as in real projects. About three edges per model.
func DAG(models int, seed uint64) *Graph {
	r := &rng{state: seed}
	g := &Graph{}
	add := func(kind, name string) int {
		g.Names = append(g.Names, name)
		g.Kinds = append(g.Kinds, kind)
		return len(g.Names) - 1
	}
	nSources := max(1, models/10)
	nStaging := max(1, models*4/10)
	nInter := max(1, models*3/10)
	nMarts := max(0, models-nStaging-nInter)
	nExposures := models / 50

	sources := make([]int, nSources)
	for i := range sources {
		sources[i] = add("source", fmt.Sprintf("source.synth.raw.src_%d", i))
	}
	link := func(child int, pool []int, k, window int) {
		if len(pool) == 0 {
			return
		}
		// Parents come from the last `window` members of the pool, so
		// lineage stays local; duplicates are dropped.
		lo := max(0, len(pool)-window)
		seen := map[int]bool{}
		for range k {
			p := pool[lo+r.intn(len(pool)-lo)]
			if !seen[p] {
				seen[p] = true
				g.Edges = append(g.Edges, [2]int{p, child})
			}
		}
	}
	staging := make([]int, 0, nStaging)
	for i := range nStaging {
		id := add("model", fmt.Sprintf("model.synth.stg_%d", i))
		// Staging models track sources in order: source ≈ i·S/N.
		at := i * nSources / nStaging
		link(id, sources[:at+1], 1+r.intn(2), 8)
		staging = append(staging, id)
	}
	inter := make([]int, 0, nInter)
	for i := range nInter {
		id := add("model", fmt.Sprintf("model.synth.int_%d", i))
		at := (i + 1) * nStaging / nInter
		link(id, staging[:at], 2+r.intn(3), 40)
		if len(inter) > 0 && r.intn(2) == 0 {
			link(id, inter, 1+r.intn(2), 30)
		}
		inter = append(inter, id)
	}
	marts := make([]int, 0, nMarts)
	for i := range nMarts {
		id := add("model", fmt.Sprintf("model.synth.mart_%d", i))
		at := (i + 1) * nInter / max(1, nMarts)
		link(id, inter[:max(1, at)], 2+r.intn(4), 60)
		if r.intn(3) == 0 {
			link(id, staging, 1+r.intn(2), len(staging))
		}
		marts = append(marts, id)
	}
	for i := range nExposures {
		id := add("exposure", fmt.Sprintf("exposure.synth.dash_%d", i))
		link(id, marts, 1+r.intn(4), len(marts))
	}
	return g
}
