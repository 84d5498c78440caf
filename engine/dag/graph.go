package dag

import (
	"container/heap"
	"sort"
	"strings"
)

// graph is the dependency structure of a DAG by node index. Validation
// caches one on a valid DAG; Parents and TopoOrder build one on the fly for
// a DAG that skipped validation.
type graph struct {
	index    map[string]int
	parents  [][]int // sorted by id, no duplicates
	children [][]int // sorted by id, no duplicates
}

// buildGraph links nodes by edges and depends_on, skipping references to
// unknown nodes and self-loops (validation reports those).
func buildGraph(d *DAG) *graph {
	g := &graph{
		index:    make(map[string]int, len(d.Nodes)),
		parents:  make([][]int, len(d.Nodes)),
		children: make([][]int, len(d.Nodes)),
	}
	for i := range d.Nodes {
		if _, dup := g.index[d.Nodes[i].ID]; !dup {
			g.index[d.Nodes[i].ID] = i
		}
	}
	link := func(from, to string) {
		f, ok1 := g.index[from]
		t, ok2 := g.index[to]
		if !ok1 || !ok2 || f == t {
			return
		}
		g.parents[t] = append(g.parents[t], f)
		g.children[f] = append(g.children[f], t)
	}
	for _, e := range d.Edges {
		link(e.From, e.To)
	}
	for i := range d.Nodes {
		for _, p := range d.Nodes[i].DependsOn {
			link(p, d.Nodes[i].ID)
		}
	}
	byID := func(s []int) []int {
		if len(s) < 2 {
			return s
		}
		sort.Slice(s, func(a, b int) bool { return d.Nodes[s[a]].ID < d.Nodes[s[b]].ID })
		out := s[:1]
		for _, v := range s[1:] {
			if v != out[len(out)-1] {
				out = append(out, v)
			}
		}
		return out
	}
	for i := range d.Nodes {
		g.parents[i] = byID(g.parents[i])
		g.children[i] = byID(g.children[i])
	}
	return g
}

func (d *DAG) deps() *graph {
	if d.graph != nil {
		return d.graph
	}
	return buildGraph(d)
}

// Parents returns the ids a node waits for (edges and depends_on), sorted.
func (d *DAG) Parents(id string) []string {
	g := d.deps()
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return d.ids(g.parents[i])
}

// Children returns the ids that wait for a node, sorted.
func (d *DAG) Children(id string) []string {
	g := d.deps()
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return d.ids(g.children[i])
}

func (d *DAG) ids(idx []int) []string {
	if len(idx) == 0 {
		return nil
	}
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = d.Nodes[i].ID
	}
	return out
}

// TopoOrder returns node ids in a deterministic topological order: among
// ready nodes, the smallest id first. On a DAG with a cycle (which
// validation refuses) the nodes on or after the cycle are left out.
func (d *DAG) TopoOrder() []string {
	g := d.deps()
	pending := make([]int, len(d.Nodes))
	ready := &idHeap{nodes: d.Nodes}
	for i := range d.Nodes {
		if g.index[d.Nodes[i].ID] != i {
			continue // a duplicate id: validation refuses it; order the first only
		}
		pending[i] = len(g.parents[i])
		if pending[i] == 0 {
			ready.idx = append(ready.idx, i)
		}
	}
	heap.Init(ready)
	out := make([]string, 0, len(d.Nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, d.Nodes[i].ID)
		for _, ch := range g.children[i] {
			pending[ch]--
			if pending[ch] == 0 {
				heap.Push(ready, ch)
			}
		}
	}
	return out
}

type idHeap struct {
	nodes []Node
	idx   []int
}

func (h *idHeap) Len() int           { return len(h.idx) }
func (h *idHeap) Less(a, b int) bool { return h.nodes[h.idx[a]].ID < h.nodes[h.idx[b]].ID }
func (h *idHeap) Swap(a, b int)      { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *idHeap) Push(x any)         { h.idx = append(h.idx, x.(int)) }
func (h *idHeap) Pop() any {
	n := len(h.idx) - 1
	v := h.idx[n]
	h.idx = h.idx[:n]
	return v
}

// cycles returns one cycle per strongly connected component that has one,
// each as node indexes starting at the component's smallest id and
// following dependency direction, components ordered by that id.
func (g *graph) cycles(d *DAG) [][]int {
	n := len(d.Nodes)
	// Tarjan's algorithm, iterative so a 100,000-node chain cannot exhaust
	// the stack.
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var comps [][]int
	next := 0
	type frame struct{ v, child int }
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{v: root}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.child < len(g.children[f.v]) {
				w := g.children[f.v][f.child]
				f.child++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w})
				} else if onStack[w] && index[w] < low[f.v] {
					low[f.v] = index[w]
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				if p := call[len(call)-1].v; low[v] < low[p] {
					low[p] = low[v]
				}
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > 1 {
					comps = append(comps, comp)
				}
			}
		}
	}
	out := make([][]int, 0, len(comps))
	for _, comp := range comps {
		out = append(out, g.shortestCycle(d, comp))
	}
	sort.Slice(out, func(a, b int) bool { return d.Nodes[out[a][0]].ID < d.Nodes[out[b][0]].ID })
	return out
}

// shortestCycle finds the shortest cycle through the smallest id of a
// strongly connected component, by breadth-first search over children in id
// order, so the reported cycle is the same on every run.
func (g *graph) shortestCycle(d *DAG, comp []int) []int {
	in := make(map[int]bool, len(comp))
	start := comp[0]
	for _, v := range comp {
		in[v] = true
		if d.Nodes[v].ID < d.Nodes[start].ID {
			start = v
		}
	}
	prev := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range g.children[v] {
			if !in[w] {
				continue
			}
			if w == start {
				var path []int
				for u := v; u != -1; u = prev[u] {
					path = append(path, u)
				}
				for a, b := 0, len(path)-1; a < b; a, b = a+1, b-1 {
					path[a], path[b] = path[b], path[a]
				}
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return comp // unreachable for a strongly connected component
}

func cycleString(d *DAG, cyc []int) string {
	parts := make([]string, 0, len(cyc)+1)
	for _, i := range cyc {
		parts = append(parts, d.Nodes[i].ID)
	}
	parts = append(parts, d.Nodes[cyc[0]].ID)
	return strings.Join(parts, " → ")
}
