package dagtree

import (
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
)

// rowKind is what one line of the tree shows.
type rowKind uint8

const (
	rowSource rowKind = iota
	rowFolder
	rowDAG
	rowError
	rowTask
)

// row is one line of the tree. Rows are built when a snapshot or the filter
// changes and rendered only when visible, so they hold indexes, not text.
type row struct {
	kind  rowKind
	depth int16
	src   int32 // index into snap.Sources (-1: a source the snapshot only names)
	dag   int32 // index into snap.DAGs, for DAG, error and task rows
	item  int32 // error or node index
	// key names a source or folder row ("s:local", "f:local/production")
	// for folding; DAG, error and task rows are known by their DAG's
	// location (unique, where a name may be claimed twice) and item, so
	// building 10,000 DAGs' rows allocates no strings.
	key   string
	label string // source name or folder segment
}

// build turns a snapshot into tree rows: sources in configuration order,
// their DAGs grouped by folder, each DAG followed by its errors and tasks.
// match filters DAGs (nil keeps all); folded hides the children of source
// and folder keys, and flips dagsFolded, the default fold of a DAG, for
// DAG keys.
// matched counts the DAGs the filter keeps, folded away or not.
func build(snap *api.Snapshot, match func(string) bool, folded map[string]bool, dagsFolded bool) (rows []row, matched int) {
	if snap == nil {
		return nil, 0
	}
	bySource := map[string][]int{}
	for i := range snap.DAGs {
		d := &snap.DAGs[i]
		if match != nil && !match(d.Name+" "+string(d.Status)+" "+d.Location+" "+d.Source) {
			continue
		}
		bySource[d.Source] = append(bySource[d.Source], i)
		matched++
	}
	n := len(snap.Sources) * 2
	for i := range snap.DAGs {
		n += 2 + len(snap.DAGs[i].Errors)
		if d := snap.DAGs[i].Def; d != nil {
			n += len(d.Nodes)
		}
	}
	rows = make([]row, 0, n)
	seen := map[string]bool{}
	emit := func(srcIdx int, name string) {
		seen[name] = true
		if match != nil && len(bySource[name]) == 0 {
			return // a filter shows only sources with a match
		}
		skey := "s:" + name
		rows = append(rows, row{kind: rowSource, key: skey, src: int32(srcIdx), label: name})
		if folded[skey] {
			return
		}
		rows = appendDAGs(rows, snap, name, bySource[name], folded, dagsFolded)
	}
	for i := range snap.Sources {
		emit(i, snap.Sources[i].Name)
	}
	// DAGs whose source the snapshot does not list still show, under it.
	var extra []string
	for name := range bySource {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		emit(-1, name)
	}
	return rows, matched
}

func appendDAGs(rows []row, snap *api.Snapshot, source string, idx []int, folded map[string]bool, dagsFolded bool) []row {
	var open []string // folder segments of the previous DAG
	for _, i := range idx {
		d := &snap.DAGs[i]
		segs := strings.Split(d.Name, "/")
		dirs := segs[:len(segs)-1]
		// The first folded folder above this DAG, if any, ends what shows.
		foldedAt := len(dirs)
		if len(folded) > 0 {
			for k := range dirs {
				if folded[folderKey(source, dirs[:k+1])] {
					foldedAt = k
					break
				}
			}
		}
		common := 0
		for common < len(open) && common < len(dirs) && open[common] == dirs[common] {
			common++
		}
		for j := common; j < len(dirs) && j <= foldedAt; j++ {
			rows = append(rows, row{kind: rowFolder, depth: int16(j + 1), key: folderKey(source, dirs[:j+1]), dag: int32(i), label: dirs[j]})
		}
		open = dirs
		if foldedAt < len(dirs) {
			continue
		}
		depth := int16(len(dirs) + 1)
		rows = append(rows, row{kind: rowDAG, depth: depth, dag: int32(i)})
		// The key is looked up only when some fold is set, so an
		// unfolded tree of 10,000 DAGs builds no keys.
		if dagsFolded != (len(folded) > 0 && folded[dagFoldKey(d.Location)]) {
			continue
		}
		for e := range d.Errors {
			rows = append(rows, row{kind: rowError, depth: depth + 1, dag: int32(i), item: int32(e)})
		}
		if d.Def != nil {
			for n := range d.Def.Nodes {
				rows = append(rows, row{kind: rowTask, depth: depth + 1, dag: int32(i), item: int32(n)})
			}
		}
	}
	return rows
}

func dagFoldKey(location string) string { return "d:" + location }

// rowID identifies a row across rebuilds, so the cursor stays on it.
type rowID struct {
	kind rowKind
	key  string // source and folder rows
	loc  string // DAG, error and task rows
	item int32
}

func idOf(snap *api.Snapshot, r row) rowID {
	id := rowID{kind: r.kind, key: r.key, item: r.item}
	if r.kind == rowDAG || r.kind == rowError || r.kind == rowTask {
		id.loc = snap.DAGs[r.dag].Location
	}
	return id
}

func folderKey(source string, dirs []string) string {
	return "f:" + source + "/" + strings.Join(dirs, "/")
}

// sameTreeShape reports whether rows built from a still index b the same
// way: an event can carry a snapshot that already holds a DAG change its
// own topic has not announced yet. It allocates nothing, so checking
// 10,000 DAGs on every event costs microseconds.
func sameTreeShape(a, b *api.Snapshot) bool {
	if len(a.DAGs) != len(b.DAGs) || len(a.Sources) != len(b.Sources) {
		return false
	}
	for i := range a.Sources {
		if a.Sources[i].Name != b.Sources[i].Name {
			return false
		}
	}
	for i := range a.DAGs {
		x, y := &a.DAGs[i], &b.DAGs[i]
		if x.Location != y.Location || x.Name != y.Name || x.Source != y.Source || x.Status != y.Status || (x.Paused == nil) != (y.Paused == nil) ||
			len(x.Errors) != len(y.Errors) || (x.Def == nil) != (y.Def == nil) ||
			(x.Def != nil && len(x.Def.Nodes) != len(y.Def.Nodes)) {
			return false
		}
	}
	return true
}
