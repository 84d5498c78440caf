package dag

import "errors"

// Parse reads a DAG file by its extension (.json or .star), validates it and
// returns it with File set to file and Name to NameFromPath(file); callers
// that know the source root overwrite Name. On failure the error is Errors.
//
// CONTRACT STUB: being implemented (issue 2).
func Parse(file string, data []byte, opts Options) (*DAG, error) {
	return nil, errors.New("dag.Parse: not implemented yet")
}

// Validate checks a DAG built in memory (tests, built-in DAGs), fills each
// node's Task and the defaults, and returns Errors on failure.
func Validate(d *DAG) error { return errors.New("dag.Validate: not implemented yet") }

// Parents returns the ids a node waits for (edges and depends_on), sorted.
func (d *DAG) Parents(id string) []string { return nil }

// TopoOrder returns node ids in a deterministic topological order: among
// ready nodes, the smallest id first.
func (d *DAG) TopoOrder() []string { return nil }

// Node returns the node with an id, or nil.
func (d *DAG) Node(id string) *Node {
	for i := range d.Nodes {
		if d.Nodes[i].ID == id {
			return &d.Nodes[i]
		}
	}
	return nil
}
