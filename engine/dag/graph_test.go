package dag

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// graphDAG builds a DAG from "a>b" dependency pairs (a runs before b) plus
// lone nodes, listing nodes in the order given.
func graphDAG(nodes []string, deps ...string) *DAG {
	d := &DAG{File: "g"}
	for _, id := range nodes {
		d.Nodes = append(d.Nodes, Node{ID: id, Type: KindNoop, Config: []byte(`{}`)})
	}
	for _, dep := range deps {
		from, to, _ := strings.Cut(dep, ">")
		d.Edges = append(d.Edges, Edge{From: from, To: to})
	}
	return d
}

func TestTopoOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []string
		deps  []string
		want  []string
	}{
		{"single", []string{"a"}, nil, []string{"a"}},
		{"independent nodes by id", []string{"c", "a", "b"}, nil, []string{"a", "b", "c"}},
		{"chain against id order", []string{"a", "b", "c"}, []string{"c>b", "b>a"}, []string{"c", "b", "a"}},
		{"diamond", []string{"d", "c", "b", "a"}, []string{"a>b", "a>c", "b>d", "c>d"}, []string{"a", "b", "c", "d"}},
		{"ready set re-sorted", []string{"z", "y", "m", "a"}, []string{"z>a", "y>m"}, []string{"y", "m", "z", "a"}},
		{"fan-in waits for all", []string{"s", "x1", "x2", "x3", "j"}, []string{"s>x1", "s>x2", "s>x3", "x1>j", "x2>j", "x3>j"}, []string{"s", "x1", "x2", "x3", "j"}},
		{"duplicate edges", []string{"a", "b"}, []string{"a>b", "a>b"}, []string{"a", "b"}},
		{"two components", []string{"b2", "a2", "b1", "a1"}, []string{"a1>a2", "b1>b2"}, []string{"a1", "a2", "b1", "b2"}},
		{"numbers sort as strings", []string{"n10", "n9", "n1"}, nil, []string{"n1", "n10", "n9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := graphDAG(tt.nodes, tt.deps...)
			if got := d.TopoOrder(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("unvalidated TopoOrder = %v, want %v", got, tt.want)
			}
			if err := Validate(d); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := d.TopoOrder(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("validated TopoOrder = %v, want %v", got, tt.want)
			}
			assertTopological(t, d, d.TopoOrder())
		})
	}
}

// assertTopological checks that every node comes after all its parents.
func assertTopological(t *testing.T, d *DAG, order []string) {
	t.Helper()
	pos := make(map[string]int, len(order))
	for i, id := range order {
		pos[id] = i
	}
	for _, n := range d.Nodes {
		for _, p := range d.Parents(n.ID) {
			if pos[p] >= pos[n.ID] {
				t.Errorf("%s comes before its parent %s in %v", n.ID, p, order)
			}
		}
	}
}

func TestTopoOrderDependsOnAndEdges(t *testing.T) {
	t.Parallel()
	d := graphDAG([]string{"load", "extract", "check"}, "extract>check")
	d.Nodes[0].DependsOn = []string{"check", "extract", "check"}
	if got, want := d.Parents("load"), []string{"check", "extract"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Parents(load) = %v, want %v", got, want)
	}
	if got, want := d.Children("extract"), []string{"check", "load"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Children(extract) = %v, want %v", got, want)
	}
	if got := d.Parents("extract"); got != nil {
		t.Errorf("Parents(extract) = %v, want nil", got)
	}
	if got := d.Parents("nope"); got != nil {
		t.Errorf("Parents(nope) = %v, want nil", got)
	}
	if got, want := d.TopoOrder(), []string{"extract", "check", "load"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TopoOrder = %v, want %v", got, want)
	}
}

func TestTopoOrderLeavesOutCycles(t *testing.T) {
	t.Parallel()
	d := graphDAG([]string{"a", "b", "c", "free"}, "a>b", "b>c", "c>b")
	if got, want := d.TopoOrder(), []string{"a", "free"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TopoOrder = %v, want %v", got, want)
	}
}

func TestCycleReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []string
		deps  []string
		want  []string
	}{
		{"two", []string{"a", "b"}, []string{"a>b", "b>a"}, []string{"a → b → a"}},
		{"starts at smallest id", []string{"q", "p", "r"}, []string{"q>r", "r>p", "p>q"}, []string{"p → q → r → p"}},
		{"shortest through smallest", []string{"a", "b", "c", "d"}, []string{"a>b", "b>c", "c>d", "d>a", "b>a"}, []string{"a → b → a"}},
		{"separate cycles", []string{"x", "y", "a", "b"}, []string{"x>y", "y>x", "a>b", "b>a"}, []string{"x → y → x", "a → b → a"}}, // in file order
		{"cycle behind a chain", []string{"s", "m", "n"}, []string{"s>m", "m>n", "n>m"}, []string{"m → n → m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			es := AsErrors("g", Validate(graphDAG(tt.nodes, tt.deps...)))
			var got []string
			for _, e := range es {
				got = append(got, strings.TrimPrefix(e.Msg, "dependency cycle: "))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cycles = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLongChainAndLongCycle(t *testing.T) {
	t.Parallel()
	// Deep enough that a recursive search would be a stack risk, small
	// enough for a test.
	const n = 50_000
	ids := make([]string, n)
	deps := make([]string, 0, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%06d", i)
		if i > 0 {
			deps = append(deps, ids[i-1]+">"+ids[i])
		}
	}
	d := graphDAG(ids, deps...)
	if err := Validate(d); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got := d.TopoOrder(); !reflect.DeepEqual(got, ids) {
		t.Errorf("TopoOrder of a chain is not the chain")
	}
	cyc := graphDAG(ids, append(deps, ids[n-1]+">"+ids[0])...)
	es := AsErrors("g", Validate(cyc))
	if len(es) != 1 || !strings.HasPrefix(es[0].Msg, "dependency cycle: n000000 → n000001 → ") ||
		!strings.HasSuffix(es[0].Msg, "n049999 → n000000") {
		t.Errorf("got %d errors, first %.120q", len(es), es[0].Msg)
	}
}
