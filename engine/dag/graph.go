package dag

import (
	"slices"
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
	// order is the topological order; nodes on or behind a cycle, and
	// duplicates of an id, are missing from it.
	order []int
}

// buildGraph links nodes by edges and depends_on, skipping references to
// unknown nodes and self-loops (validation reports those). index maps each
// id to its first node, or is nil to be built here.
func buildGraph(d *DAG, index map[string]int) *graph {
	n := len(d.Nodes)
	if index == nil {
		index = make(map[string]int, n)
		for i := range d.Nodes {
			if _, dup := index[d.Nodes[i].ID]; !dup {
				index[d.Nodes[i].ID] = i
			}
		}
	}
	g := &graph{index: index}
	// Links go into two flat arrays, carved into per-node slices: two
	// allocations instead of two per node.
	type link struct{ from, to int }
	nLinks := len(d.Edges)
	for i := range d.Nodes {
		nLinks += len(d.Nodes[i].DependsOn)
	}
	links := make([]link, 0, nLinks)
	add := func(from, to string) {
		f, ok1 := g.index[from]
		t, ok2 := g.index[to]
		if ok1 && ok2 && f != t {
			links = append(links, link{f, t})
		}
	}
	for _, e := range d.Edges {
		add(e.From, e.To)
	}
	for i := range d.Nodes {
		for _, p := range d.Nodes[i].DependsOn {
			add(p, d.Nodes[i].ID)
		}
	}
	nParents := make([]int, n)
	nChildren := make([]int, n)
	for _, l := range links {
		nParents[l.to]++
		nChildren[l.from]++
	}
	flat := make([]int, 2*len(links))
	g.parents = make([][]int, n)
	g.children = make([][]int, n)
	off := 0
	for i := 0; i < n; i++ {
		g.parents[i] = flat[off : off : off+nParents[i]]
		off += nParents[i]
		g.children[i] = flat[off : off : off+nChildren[i]]
		off += nChildren[i]
	}
	for _, l := range links {
		g.parents[l.to] = append(g.parents[l.to], l.from)
		g.children[l.from] = append(g.children[l.from], l.to)
	}
	byID := func(a, b int) int { return strings.Compare(d.Nodes[a].ID, d.Nodes[b].ID) }
	for i := 0; i < n; i++ {
		g.parents[i] = sortedUnique(g.parents[i], byID)
		g.children[i] = sortedUnique(g.children[i], byID)
	}
	g.order = g.topo(d)
	return g
}

// sortedUnique sorts s in place and drops repeats (an edge given twice, or
// as both an edge and a depends_on).
func sortedUnique(s []int, cmp func(a, b int) int) []int {
	if len(s) < 2 {
		return s
	}
	slices.SortFunc(s, cmp)
	return slices.Compact(s)
}

// topo is Kahn's algorithm with the ready set in a heap by id, so the order
// is the same on every run and reads naturally when nothing else decides.
func (g *graph) topo(d *DAG) []int {
	pending := make([]int, len(d.Nodes))
	ready := idHeap{nodes: d.Nodes}
	for i := range d.Nodes {
		if g.index[d.Nodes[i].ID] != i {
			continue // a duplicate id: validation refuses it; order the first only
		}
		pending[i] = len(g.parents[i])
		if pending[i] == 0 {
			ready.push(i)
		}
	}
	out := make([]int, 0, len(d.Nodes))
	for len(ready.idx) > 0 {
		i := ready.pop()
		out = append(out, i)
		for _, ch := range g.children[i] {
			pending[ch]--
			if pending[ch] == 0 {
				ready.push(ch)
			}
		}
	}
	return out
}

func (d *DAG) deps() *graph {
	if d.graph != nil {
		return d.graph
	}
	return buildGraph(d, nil)
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
	return d.ids(d.deps().order)
}

// idHeap is a binary min-heap of node indexes by id.
type idHeap struct {
	nodes []Node
	idx   []int
}

func (h *idHeap) less(a, b int) bool { return h.nodes[h.idx[a]].ID < h.nodes[h.idx[b]].ID }

func (h *idHeap) push(i int) {
	h.idx = append(h.idx, i)
	for c := len(h.idx) - 1; c > 0; {
		p := (c - 1) / 2
		if !h.less(c, p) {
			break
		}
		h.idx[c], h.idx[p] = h.idx[p], h.idx[c]
		c = p
	}
}

func (h *idHeap) pop() int {
	top := h.idx[0]
	last := len(h.idx) - 1
	h.idx[0] = h.idx[last]
	h.idx = h.idx[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= last {
			break
		}
		if c+1 < last && h.less(c+1, c) {
			c++
		}
		if !h.less(c, p) {
			break
		}
		h.idx[c], h.idx[p] = h.idx[p], h.idx[c]
		p = c
	}
	return top
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
