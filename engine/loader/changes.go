package loader

import (
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
)

// Kinds of Change.
const (
	ChangeLoaded   = "loaded"   // a new file, or one back from deletion or conflict
	ChangeReloaded = "reloaded" // new content that is valid
	ChangeInvalid  = "invalid"  // the newest content failed; the last good one stays
	ChangeDisabled = "disabled" // enabled: false
	ChangeDeleted  = "deleted"  // the file is gone; its DAG is disabled
	ChangeConflict = "conflict" // another file holds the name
)

// Change is what happened to one DAG file between two registry views.
type Change struct {
	Name     string
	Source   string
	Location string
	Kind     string
	Status   api.DAGStatus // the status after the change
	Error    string        // the newest version's errors, one per line
}

// Deleted reports whether a registry entry stands for a file that is gone:
// disabled with no active version left (enabled: false keeps its checksum).
func Deleted(d api.DAG) bool {
	return d.Status == api.DAGDisabled && d.Checksum == ""
}

// Diff lists the changes from one registry view to another, entries matched
// by source and location. An entry missing from after counts as deleted.
// Order: after's order, then deletions in before's order.
func Diff(before, after []api.DAG) []Change {
	type key struct{ source, location string }
	prev := make(map[key]*api.DAG, len(before))
	for i := range before {
		prev[key{before[i].Source, before[i].Location}] = &before[i]
	}
	var out []Change
	seen := make(map[key]bool, len(after))
	for i := range after {
		a := &after[i]
		k := key{a.Source, a.Location}
		seen[k] = true
		b, ok := prev[k]
		if ok && sameEntry(b, a) {
			continue
		}
		kind := ""
		switch a.Status {
		case api.DAGActive:
			switch {
			case !ok:
				kind = ChangeLoaded
			case b.Status == api.DAGActive || b.Status == api.DAGInvalid && b.Def != nil:
				kind = ChangeReloaded
			default:
				kind = ChangeLoaded
			}
		case api.DAGInvalid:
			kind = ChangeInvalid
		case api.DAGDisabled:
			kind = ChangeDisabled
			if Deleted(*a) {
				kind = ChangeDeleted
			}
		case api.DAGConflict:
			kind = ChangeConflict
		default:
			kind = string(a.Status)
		}
		out = append(out, changeOf(a, kind))
	}
	for i := range before {
		b := &before[i]
		if seen[key{b.Source, b.Location}] {
			continue
		}
		c := changeOf(b, ChangeDeleted)
		c.Status, c.Error = api.DAGDisabled, ""
		out = append(out, c)
	}
	return out
}

func changeOf(d *api.DAG, kind string) Change {
	return Change{
		Name: d.Name, Source: d.Source, Location: d.Location,
		Kind: kind, Status: d.Status, Error: ErrorText(d.Errors),
	}
}

func sameEntry(a, b *api.DAG) bool {
	if a.Status != b.Status || a.Checksum != b.Checksum || a.ConflictWith != b.ConflictWith ||
		a.Name != b.Name || len(a.Errors) != len(b.Errors) {
		return false
	}
	for i := range a.Errors {
		if a.Errors[i] != b.Errors[i] {
			return false
		}
	}
	return true
}

// ErrorText renders error lines one per line, with node and path when known.
func ErrorText(errs []api.ErrorLine) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		var b strings.Builder
		if e.Node != "" {
			b.WriteString("node " + e.Node + ": ")
		}
		if e.Path != "" {
			b.WriteString(e.Path + ": ")
		}
		b.WriteString(e.Msg)
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// sortDAGs orders registry entries by name; for one name the holder comes
// first, then conflicts, then the rest by location.
func sortDAGs(ds []api.DAG) {
	sort.Slice(ds, func(i, j int) bool { return lessDAG(&ds[i], &ds[j]) })
}

func lessDAG(a, b *api.DAG) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if ca, cb := a.Status == api.DAGConflict, b.Status == api.DAGConflict; ca != cb {
		return cb
	}
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	return a.Location < b.Location
}
