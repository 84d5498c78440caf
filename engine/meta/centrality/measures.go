package centrality

import (
	"context"
	"runtime"
	"sync"
)

// Degree returns networkx's degree_centrality, in_degree_centrality and
// out_degree_centrality: degrees divided by n-1 (1 for every node of a
// one-node graph, as networkx does).
func Degree(g *Graph) (degree, in, out []float64) {
	n := g.n
	degree, in, out = make([]float64, n), make([]float64, n), make([]float64, n)
	if n == 1 {
		degree[0], in[0], out[0] = 1, 1, 1
		return
	}
	s := 1 / float64(n-1)
	for v := range n {
		i, o := float64(len(g.In(v))), float64(len(g.Out(v)))
		in[v], out[v], degree[v] = i*s, o*s, (i+o)*s
	}
	return
}

// Closeness returns networkx's closeness_centrality with its defaults: on a
// directed graph the distances are incoming (from every node that reaches
// v), and the Wasserman–Faust scaling weighs by the share of the graph that
// reaches v:
//
//	C(v) = (r-1)/Σd(u,v) · (r-1)/(n-1)
//
// where r counts the nodes that reach v, v included. A node nothing reaches
// gets 0 (gonum gives +Inf there).
func Closeness(ctx context.Context, g *Graph, workers int) ([]float64, error) {
	n := g.n
	c := make([]float64, n)
	err := parallel(ctx, n, workers, func(int) func(v int) {
		dist := newDistances(n)
		return func(v int) {
			reached, total := dist.bfs(g.inOff, g.inAdj, v)
			if total > 0 && n > 1 {
				r := float64(reached - 1)
				c[v] = r / float64(total) * r / float64(n-1)
			}
		}
	})
	return c, err
}

// distances is one worker's BFS state; only the nodes a BFS touched are
// reset, so a BFS costs what it reaches, not n.
type distances struct {
	dist  []int32
	queue []int32
}

func newDistances(n int) *distances {
	d := &distances{dist: make([]int32, n), queue: make([]int32, 0, n)}
	for i := range d.dist {
		d.dist[i] = -1
	}
	return d
}

// bfs walks adj from s and returns how many nodes it reached (s included)
// and the sum of their distances.
func (d *distances) bfs(off, adj []int32, s int) (reached int, total int64) {
	q := append(d.queue[:0], int32(s))
	d.dist[s] = 0
	for head := 0; head < len(q); head++ {
		v := q[head]
		dv := d.dist[v]
		total += int64(dv)
		for _, w := range adj[off[v]:off[v+1]] {
			if d.dist[w] < 0 {
				d.dist[w] = dv + 1
				q = append(q, w)
			}
		}
	}
	for _, v := range q {
		d.dist[v] = -1
	}
	d.queue = q
	return len(q), total
}

// Betweenness returns networkx's betweenness_centrality with its defaults
// (all sources, normalised, endpoints excluded): Brandes' accumulation over
// a BFS from every node, scaled by 1/((n-1)(n-2)) on a directed graph with
// more than two nodes.
//
// Predecessor lists are not stored: walking back, w's predecessors on
// shortest paths are its in-neighbours one level closer to the source.
// Workers take sources round-robin and keep their own sums, which are added
// in worker order, so a given worker count always gives the same bits.
func Betweenness(ctx context.Context, g *Graph, workers int) ([]float64, error) {
	n := g.n
	workers = workerCount(workers, n)
	partial := make([][]float64, workers)
	err := parallel(ctx, n, workers, func(w int) func(s int) {
		bc := make([]float64, n)
		partial[w] = bc
		st := newBrandes(n)
		return func(s int) { st.accumulate(g, s, bc) }
	})
	if err != nil {
		return nil, err
	}
	bc := make([]float64, n)
	for _, p := range partial {
		for v, x := range p {
			bc[v] += x
		}
	}
	if n > 2 {
		scale := 1 / (float64(n-1) * float64(n-2))
		for v := range bc {
			bc[v] *= scale
		}
	}
	return bc, nil
}

type brandes struct {
	dist  []int32
	sigma []float64
	delta []float64
	order []int32 // BFS order: non-decreasing distance
}

func newBrandes(n int) *brandes {
	b := &brandes{dist: make([]int32, n), sigma: make([]float64, n), delta: make([]float64, n), order: make([]int32, 0, n)}
	for i := range b.dist {
		b.dist[i] = -1
	}
	return b
}

func (b *brandes) accumulate(g *Graph, s int, bc []float64) {
	q := append(b.order[:0], int32(s))
	b.dist[s], b.sigma[s] = 0, 1
	for head := 0; head < len(q); head++ {
		v := q[head]
		dv, sv := b.dist[v], b.sigma[v]
		for _, w := range g.Out(int(v)) {
			if b.dist[w] < 0 {
				b.dist[w] = dv + 1
				q = append(q, w)
			}
			if b.dist[w] == dv+1 {
				b.sigma[w] += sv
			}
		}
	}
	for i := len(q) - 1; i > 0; i-- {
		w := q[i]
		dw, coeff := b.dist[w]-1, (1+b.delta[w])/b.sigma[w]
		for _, v := range g.In(int(w)) {
			if b.dist[v] == dw {
				b.delta[v] += b.sigma[v] * coeff
			}
		}
		bc[w] += b.delta[w]
	}
	for _, v := range q {
		b.dist[v], b.sigma[v], b.delta[v] = -1, 0, 0
	}
	b.order = q
}

// PageRank returns networkx's pagerank with alpha (0.85 by default there):
// uniform teleport, dangling nodes' rank spread uniformly. It returns the
// fixed point itself, not networkx's stopping point (which may sit up to
// n·tol away in L1).
//
// On a DAG, as dbt graphs are, the fixed point is solved exactly in one
// pass in topological order: x = c·y with y(v) = 1 + α·Σ y(u)/outdeg(u)
// over v's parents, and c = 1/Σy because x sums to 1 (the dangling mass
// only changes c, and c cancels). A graph with a cycle falls back to power
// iteration until the L1 change stops shrinking.
func PageRank(g *Graph, alpha float64) []float64 {
	n := g.n
	if n == 0 {
		return nil
	}
	order, ok := topoOrder(g)
	if !ok {
		return pageRankPower(g, alpha)
	}
	y := make([]float64, n)
	sum := 0.0
	for _, v := range order {
		acc := 1.0
		for _, u := range g.In(int(v)) {
			acc += alpha * y[u] / float64(len(g.Out(int(u))))
		}
		y[v] = acc
		sum += acc
	}
	for v := range y {
		y[v] /= sum
	}
	return y
}

// topoOrder is Kahn's algorithm; ok is false when g has a cycle.
func topoOrder(g *Graph) ([]int32, bool) {
	indeg := make([]int32, g.n)
	for v := range g.n {
		indeg[v] = int32(len(g.In(v)))
	}
	order := make([]int32, 0, g.n)
	for v := range g.n {
		if indeg[v] == 0 {
			order = append(order, int32(v))
		}
	}
	for head := 0; head < len(order); head++ {
		for _, w := range g.Out(int(order[head])) {
			if indeg[w]--; indeg[w] == 0 {
				order = append(order, w)
			}
		}
	}
	return order, len(order) == g.n
}

func pageRankPower(g *Graph, alpha float64) []float64 {
	n := g.n
	x, next := make([]float64, n), make([]float64, n)
	for v := range x {
		x[v] = 1 / float64(n)
	}
	prevErr := 2.0
	for iter := 0; iter < 100000; iter++ {
		dangling := 0.0
		for v := range n {
			if len(g.Out(v)) == 0 {
				dangling += x[v]
			}
		}
		base := (1-alpha)/float64(n) + alpha*dangling/float64(n)
		for v := range n {
			acc := 0.0
			for _, u := range g.In(v) {
				acc += x[u] / float64(len(g.Out(int(u))))
			}
			next[v] = base + alpha*acc
		}
		errL1 := 0.0
		for v := range n {
			d := next[v] - x[v]
			if d < 0 {
				d = -d
			}
			errL1 += d
		}
		x, next = next, x
		// Stop at the fixed point: when the change hits rounding noise it
		// no longer shrinks.
		if errL1 == 0 || errL1 < 1e-15*float64(n) && errL1 >= prevErr {
			break
		}
		prevErr = errL1
	}
	sum := 0.0
	for _, v := range x {
		sum += v
	}
	for v := range x {
		x[v] /= sum
	}
	return x
}

func workerCount(workers, n int) int {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return max(1, min(workers, n))
}

// parallel runs per(v) for v in 0..n-1 on `workers` goroutines; worker w
// builds its own per function (its own buffers) with setup(w) and takes
// v ≡ w (mod workers), so the split never depends on timing.
func parallel(ctx context.Context, n, workers int, setup func(w int) func(v int)) error {
	workers = workerCount(workers, n)
	if n == 0 {
		return ctx.Err()
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per := setup(w)
			for i, v := 0, w; v < n; i, v = i+1, v+workers {
				if i%64 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				per(v)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
