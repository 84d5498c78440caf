package engine

import (
	"sort"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/loader"
)

// SourceBuiltin is the source name of DAGs that come with Sluice (the
// metapipeline) rather than from a file.
const SourceBuiltin = "builtin"

// builtinSource lays built-in DAGs over the loader's registry, so that the
// run queue, the scheduler, the sensors and the DAG tree see them like any
// other DAG. A built-in name is reserved: a file claiming it is shown as a
// conflict and never runs.
type builtinSource struct {
	dagSource
	defs   map[string]*dag.DAG
	rows   []api.DAG // sorted by name
	loaded time.Time
}

// withBuiltins returns src with defs laid over it (src itself when there are
// none), loaded at loaded. Each definition must already be valid.
func withBuiltins(src dagSource, loaded time.Time, defs ...*dag.DAG) dagSource {
	if len(defs) == 0 {
		return src
	}
	b := &builtinSource{dagSource: src, defs: map[string]*dag.DAG{}, loaded: loaded}
	for _, d := range defs {
		b.defs[d.Name] = d
		b.rows = append(b.rows, api.DAG{
			Name:     d.Name,
			Source:   SourceBuiltin,
			Location: d.File,
			Status:   api.DAGActive,
			Def:      loader.DefView(d),
			LoadedAt: b.loaded,
		})
	}
	sort.Slice(b.rows, func(i, j int) bool { return b.rows[i].Name < b.rows[j].Name })
	return b
}

// Lookup implements dagSource: built-ins first.
func (b *builtinSource) Lookup(name string) (*dag.DAG, bool) {
	if d, ok := b.defs[name]; ok {
		return d, true
	}
	return b.dagSource.Lookup(name)
}

// Disabled tells the runner a DAG switched off from one whose file went
// missing, when the wrapped source knows (the loader does).
func (b *builtinSource) Disabled(name string) bool {
	if _, ok := b.defs[name]; ok {
		return false
	}
	d, ok := b.dagSource.(interface{ Disabled(string) bool })
	return ok && d.Disabled(name)
}

// DAGs implements dagSource: the loader's registry with the built-ins
// merged in by name.
func (b *builtinSource) DAGs() []api.DAG {
	files := b.dagSource.DAGs()
	out := make([]api.DAG, 0, len(files)+len(b.rows))
	out = append(out, b.rows...)
	for _, d := range files {
		if bd, ok := b.defs[d.Name]; ok && d.Status != api.DAGConflict {
			d.Status = api.DAGConflict
			d.ConflictWith = bd.File
		}
		out = append(out, d)
	}
	// Stable: for one name the built-in, which holds it, comes first, and
	// the files keep the loader's order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
