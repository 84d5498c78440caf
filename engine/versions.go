package engine

import (
	"context"
	"log/slog"
	"maps"
	"sync"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/store"
)

// contentSource is what versioning needs of the loader beyond dagSource:
// the bytes of each DAG's active definition, and a parser for stored ones.
type contentSource interface {
	Content(name string) (data []byte, location, sum string, ok bool)
	Parse(name, location string, data []byte) (*dag.DAG, error)
}

// versionedSource lays DAG versions over the DAG source: each active
// content is recorded in the store as a version, definitions carry their
// version number, and a pinned DAG resolves to its pinned version whatever
// its file now says (a file turning invalid changes nothing either).
type versionedSource struct {
	dagSource
	files contentSource
	st    store.Interface
	keep  int
	log   *slog.Logger

	mu sync.RWMutex
	// live are the names a present file holds (active or invalid): a
	// pinned one runs even when its file never validated since a restart.
	live map[string]bool
	cur  map[string]currentVersion
	pins map[string]pinnedVersion
	old  map[versionKey]*dag.DAG // stored versions parsed for runs queued with them
}

type currentVersion struct {
	sum     string
	version int
	src     *dag.DAG // the source's definition this is a numbered copy of
	def     *dag.DAG
}

type pinnedVersion struct {
	pin  api.DAGPin
	def  *dag.DAG
	view *api.DAGDef
}

type versionKey struct {
	name    string
	version int
}

// withVersions wraps src when it can hand out its files' contents (the
// loader can; test sources need not).
func withVersions(src dagSource, files contentSource, st store.Interface, keep int, log *slog.Logger) *versionedSource {
	if keep <= 0 {
		keep = api.DefaultKeepVersions
	}
	return &versionedSource{dagSource: src, files: files, st: st, keep: keep, log: log,
		cur: map[string]currentVersion{}, pins: map[string]pinnedVersion{}, old: map[versionKey]*dag.DAG{}}
}

// Lookup implements dagSource: the pinned version of a pinned DAG, the
// numbered current one otherwise. A DAG whose file is gone or disabled is
// not found, pinned or not; one whose file is invalid runs its pin.
func (v *versionedSource) Lookup(name string) (*dag.DAG, bool) {
	def, ok := v.dagSource.Lookup(name)
	v.mu.RLock()
	defer v.mu.RUnlock()
	if p, pinned := v.pins[name]; pinned && p.def != nil && (ok || v.live[name]) {
		return p.def, true
	}
	if !ok {
		return nil, false
	}
	if c, ok := v.cur[name]; ok && c.src == def {
		return c.def, true
	}
	return def, true
}

// LookupVersion implements runner.VersionedDAGs.
func (v *versionedSource) LookupVersion(name string, version int) (*dag.DAG, bool) {
	def, err := v.StoredVersion(context.Background(), name, version)
	if err != nil {
		v.log.Warn("running the current version: the run's version is not available", "dag", name, "version", version, "err", err)
		return nil, false
	}
	return def, true
}

func (v *versionedSource) parseStored(ctx context.Context, name string, version int) (*dag.DAG, error) {
	sv, err := v.st.DAGVersion(ctx, name, version)
	if err != nil {
		return nil, err
	}
	def, err := v.files.Parse(name, sv.Source, sv.Content)
	if err != nil {
		return nil, err
	}
	def.Version = version
	return def, nil
}

// DAGs implements dagSource: each row with its version, a pinned one with
// its pin and the pinned definition.
func (v *versionedSource) DAGs() []api.DAG {
	rows := v.dagSource.DAGs()
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i := range rows {
		d := &rows[i]
		if c, ok := v.cur[d.Name]; ok && c.sum == d.Checksum && d.Checksum != "" {
			d.Version = c.version
		}
		if p, ok := v.pins[d.Name]; ok && p.def != nil && (d.Def != nil || d.Status == api.DAGInvalid) {
			pin := p.pin
			d.Pinned, d.Def = &pin, p.view
		}
	}
	return rows
}

// record stores the active content of every DAG whose content changed
// since the last call as a version.
func (v *versionedSource) record(ctx context.Context) {
	rows := v.dagSource.DAGs()
	live := make(map[string]bool, len(rows))
	for _, d := range rows {
		if d.Status == api.DAGActive || d.Status == api.DAGInvalid {
			live[d.Name] = true
		}
	}
	v.mu.Lock()
	v.live = live
	v.mu.Unlock()
	type pending struct {
		src  *dag.DAG
		seen bool
	}
	var (
		batch []api.DAGVersion
		defs  []pending
	)
	for _, d := range rows {
		if d.Def == nil || d.Checksum == "" {
			continue
		}
		v.mu.RLock()
		c, seen := v.cur[d.Name]
		v.mu.RUnlock()
		if seen && c.sum == d.Checksum {
			continue
		}
		data, location, sum, ok := v.files.Content(d.Name)
		src, found := v.dagSource.Lookup(d.Name)
		if !ok || !found || sum != d.Checksum {
			continue // changed again since the listing: the next change records it
		}
		// The row's origin is the commit its active (good) content came
		// from, the content recorded here.
		batch = append(batch, api.DAGVersion{DAG: d.Name, SHA256: sum, Source: location, Content: data, LastSeen: d.LoadedAt, Origin: d.Origin})
		defs = append(defs, pending{src: src, seen: seen})
	}
	if len(batch) == 0 {
		return
	}
	got, err := v.st.RecordDAGVersions(ctx, batch, v.keep)
	if err != nil {
		if ctx.Err() == nil {
			v.log.Warn("recording dag versions", "dags", len(batch), "err", err)
		}
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, r := range got {
		b := batch[i]
		if r.Created && defs[i].seen {
			v.log.Info("dag version", "dag", b.DAG, "version", r.Version, "sha256", b.SHA256[:12])
		}
		numbered := *defs[i].src
		numbered.Version = r.Version
		v.cur[b.DAG] = currentVersion{sum: b.SHA256, version: r.Version, src: defs[i].src, def: &numbered}
	}
}

// refreshPins re-reads the pins (this engine's, or the CLI's on the same
// store) and parses newly pinned versions; it reports whether they changed.
func (v *versionedSource) refreshPins(ctx context.Context) bool {
	pins, err := v.st.PinnedDAGs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			v.log.Warn("reading pinned dags", "err", err)
		}
		return false
	}
	v.mu.RLock()
	same := len(pins) == len(v.pins)
	for name, p := range pins {
		if have, ok := v.pins[name]; !ok || have.pin != p {
			same = false
		}
	}
	had := maps.Clone(v.pins)
	v.mu.RUnlock()
	if same {
		return false
	}
	next := make(map[string]pinnedVersion, len(pins))
	for name, p := range pins {
		if have, ok := had[name]; ok && have.pin.Version == p.Version {
			have.pin = p
			next[name] = have
			continue
		}
		def, err := v.parseStored(ctx, name, p.Version)
		if err != nil {
			// Kept without a definition: logged once, not at every poll.
			v.log.Error("pinned version does not load: the file's version runs", "dag", name, "version", p.Version, "err", err)
			next[name] = pinnedVersion{pin: p}
			continue
		}
		next[name] = pinnedVersion{pin: p, def: def, view: loader.DefView(def)}
		v.log.Info("dag pinned", "dag", name, "version", p.Version, "by", p.By)
	}
	for name, p := range had {
		if _, ok := pins[name]; !ok {
			v.log.Info("dag unpinned", "dag", name, "version", p.pin.Version)
		}
	}
	v.mu.Lock()
	v.pins = next
	v.mu.Unlock()
	return true
}

// syncVersions records the DAGs' contents and reads the pins, at start.
func (e *Engine) syncVersions(ctx context.Context) {
	if e.versions == nil {
		return
	}
	e.versions.record(ctx)
	e.versions.refreshPins(ctx)
}

// refreshPins applies pins made since the last poll (by `sluice dags pin`
// on the same store, or this engine's PinDAG).
func (e *Engine) refreshPins(ctx context.Context) {
	if e.versions != nil && e.versions.refreshPins(ctx) {
		e.events.publish(api.TopicDAGs)
		e.sched.Poke()
		e.syncSensors()
	}
}
