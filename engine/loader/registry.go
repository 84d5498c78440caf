package loader

import (
	"fmt"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
)

// fileRef names one file: its source and its key below the source root.
type fileRef struct{ source, key string }

// fileRec is everything the registry remembers of one file, including after
// it is deleted (history kept).
type fileRec struct {
	ref      fileRef
	name     string
	location string
	// seq orders records by first sight: of the present files claiming a
	// name, the one with the lowest seq holds it.
	seq     uint64
	present bool
	goneAt  time.Time
	// version is the listing version last processed; "" forces a read on
	// the next scan (a read that failed is retried).
	version string
	sum     string // SHA-256 of the newest content read
	// good is the last version that validated, with its checksum and time.
	good     *dag.DAG
	goodView *api.DAGDef // good as the read model shows it
	goodSum  string
	origin   *api.Commit // the git commit good came from
	goodRaw  []byte      // the good version's bytes, for the version store
	loadedAt time.Time
	// errs are the newest version's problems; nil when it is good.
	errs []api.ErrorLine
}

// registry maps DAG names to the files that claim them. It is not safe for
// concurrent use: the Loader guards it.
type registry struct {
	files  map[fileRef]*fileRec
	byName map[string][]*fileRec // in seq order
	seq    uint64
}

func newRegistry() *registry {
	return &registry{files: make(map[fileRef]*fileRec), byName: make(map[string][]*fileRec)}
}

// fileResult is what a scan learned about one listed file.
type fileResult struct {
	obj Object
	// unchanged: the version matched, nothing was read.
	unchanged bool
	// same: read, but the bytes are those of the newest version, which
	// validated: nothing was parsed.
	same bool
	// retry: errs come from listing or reading, not from the content; the
	// version is not recorded so the next scan tries again.
	retry bool
	// pending: a Starlark file evaluated in the background; the registry
	// keeps what it has until the evaluation is applied.
	pending bool
	sum     string
	def     *dag.DAG
	raw     []byte // the bytes def was parsed from
	errs    []api.ErrorLine
}

// scanOutcome is one source's completed listing, ready to apply.
type scanOutcome struct {
	source     string
	results    []fileResult
	incomplete []string
	// emptyFolders are subfolders listed empty (see Listing).
	emptyFolders []string
	problems     []string
	commit       *api.Commit // the git commit listed
	stale        error       // see Listing.Stale
	start        time.Time
	duration     time.Duration
	// deferred are the Starlark files to evaluate in the background.
	deferred []Object
	// partial outcomes carry some files only (background evaluations):
	// files they do not list are not taken as deleted.
	partial bool
}

func (r *registry) holder(name string) *fileRec {
	for _, rec := range r.byName[name] {
		if rec.present {
			return rec
		}
	}
	return nil
}

func (r *registry) status(rec *fileRec) api.DAGStatus {
	switch {
	case !rec.present:
		return api.DAGDisabled
	case r.holder(rec.name) != rec:
		return api.DAGConflict
	case rec.errs != nil:
		return api.DAGInvalid
	case rec.good != nil && !rec.good.Enabled:
		return api.DAGDisabled
	}
	return api.DAGActive
}

// visible reports whether a record appears in the registry view: present
// files, and for a name no present file claims, the file that went last.
func (r *registry) visible(rec *fileRec) bool {
	if rec.present {
		return true
	}
	if r.holder(rec.name) != nil {
		return false
	}
	for _, other := range r.byName[rec.name] {
		if other != rec && other.goneAt.After(rec.goneAt) {
			return false
		}
	}
	return true
}

func (r *registry) view(rec *fileRec) api.DAG {
	d := api.DAG{
		Name:     rec.name,
		Source:   rec.ref.source,
		Location: rec.location,
		Status:   r.status(rec),
		Def:      rec.goodView,
		LoadedAt: rec.loadedAt,
		Origin:   rec.origin,
	}
	if rec.present {
		// A deleted file's last parse errors are history, not a problem
		// to fix: the entry says disabled and nothing else.
		d.Checksum, d.Errors = rec.goodSum, rec.errs
	}
	if d.Status == api.DAGConflict {
		d.ConflictWith = r.holder(rec.name).location
	}
	return d
}

// viewOf lists the visible records of some names.
func (r *registry) viewOf(names map[string]bool) []api.DAG {
	var out []api.DAG
	for name := range names {
		for _, rec := range r.byName[name] {
			if r.visible(rec) {
				out = append(out, r.view(rec))
			}
		}
	}
	sortDAGs(out)
	return out
}

// all returns the whole registry view, sorted, with for each entry the
// definition whose schedule fires (nil when none does).
func (r *registry) all() ([]api.DAG, []*dag.DAG) {
	type entry struct {
		view  api.DAG
		sched *dag.DAG
	}
	var entries []entry
	for _, rec := range r.files {
		if !r.visible(rec) {
			continue
		}
		e := entry{view: r.view(rec)}
		if (e.view.Status == api.DAGActive || e.view.Status == api.DAGInvalid) &&
			rec.good != nil && rec.good.Enabled && rec.good.Schedule != "" {
			e.sched = rec.good
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return lessDAG(&entries[i].view, &entries[j].view) })
	views := make([]api.DAG, len(entries))
	scheds := make([]*dag.DAG, len(entries))
	for i, e := range entries {
		views[i], scheds[i] = e.view, e.sched
	}
	return views, scheds
}

// apply records one source's scan and returns what changed, plus how many
// files were added, changed or removed.
func (r *registry) apply(out scanOutcome, now time.Time) ([]Change, int) {
	listed := make(map[string]bool, len(out.results))
	affected := make(map[string]bool)
	var touched []fileResult
	for _, res := range out.results {
		listed[res.obj.Key] = true
		rec := r.files[fileRef{out.source, res.obj.Key}]
		if res.unchanged && rec != nil && rec.present || res.pending {
			continue
		}
		touched = append(touched, res)
		affected[dag.NameFromPath(res.obj.Key)] = true
	}
	var gone []*fileRec
	for ref, rec := range r.files {
		if !out.partial && ref.source == out.source && rec.present && !listed[ref.key] && !underAny(ref.key, out.incomplete) {
			gone = append(gone, rec)
			affected[rec.name] = true
		}
	}
	if len(touched) == 0 && len(gone) == 0 {
		return nil, 0
	}

	before := r.viewOf(affected)
	changed := 0
	for _, res := range touched {
		ref := fileRef{out.source, res.obj.Key}
		rec := r.files[ref]
		if rec == nil {
			r.seq++
			rec = &fileRec{ref: ref, name: dag.NameFromPath(res.obj.Key), seq: r.seq}
			r.files[ref] = rec
			r.byName[rec.name] = append(r.byName[rec.name], rec)
		}
		wasPresent := rec.present
		rec.present, rec.location = true, res.obj.Location
		switch {
		case res.retry:
			rec.version, rec.errs = "", res.errs
			if !wasPresent {
				changed++
			}
		case res.same:
			rec.version = res.obj.Version
		default:
			if !wasPresent || res.sum != rec.sum {
				changed++
			}
			rec.version, rec.sum = res.obj.Version, res.sum
			if res.def == nil {
				rec.errs = res.errs
				break
			}
			if !wasPresent || res.sum != rec.goodSum {
				rec.loadedAt = now
			}
			rec.good, rec.goodView, rec.goodSum, rec.goodRaw, rec.errs = res.def, DefView(res.def), res.sum, res.raw, nil
			rec.origin = res.obj.Origin
		}
	}
	for _, rec := range gone {
		rec.present, rec.goneAt, rec.version = false, now, ""
		changed++
	}
	return Diff(before, r.viewOf(affected)), changed
}

// known returns the versions and checksums a source's files had at the last
// scan, for deciding what to read.
func (r *registry) known(source string) map[string]knownFile {
	out := make(map[string]knownFile)
	for ref, rec := range r.files {
		if ref.source == source && rec.present {
			out[ref.key] = knownFile{version: rec.version, sum: rec.sum, ok: rec.errs == nil}
		}
	}
	return out
}

type knownFile struct {
	version, sum string
	ok           bool // the newest content validated
}

func errorLines(es dag.Errors) []api.ErrorLine {
	out := make([]api.ErrorLine, len(es))
	for i, e := range es {
		msg := e.Msg
		if e.Line > 0 {
			msg = fmt.Sprintf("line %d:%d: %s", e.Line, e.Col, msg)
		}
		out[i] = api.ErrorLine{Node: e.Node, Path: e.Path, Msg: msg}
	}
	return out
}
