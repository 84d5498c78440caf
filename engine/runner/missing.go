package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

// A DAG file can vanish for a moment — an editor that writes by rename, a
// sync tool, a volume remounted, a source not read yet after a restart —
// and its queued runs (Kafka batches whose offsets are committed among
// them) must not fail for it (issue 18). A queued run of a missing DAG runs
// the version it was queued with, parsed from the store: at once when the
// store has it. A run whose version the store lacks waits with a visible
// reason for MissingGrace; if the file is still missing then, it runs the
// last definition this runner knew when that is its version, and fails
// otherwise, saying which version was missing. A DAG switched off
// (enabled: false) is not missing: its runs fail at once, as do runs of a
// DAG nobody ever loaded (`sluice trigger ghost`).

// StoredDAGs parses a stored version of a DAG whatever its file says now
// (the engine's versioned source does, with the loader's parser for the
// source the version was read from).
type StoredDAGs interface {
	StoredVersion(ctx context.Context, name string, version int) (*dag.DAG, error)
}

// disabler is what a DAGs may also say: the name is known and deliberately
// switched off. Without it every absence counts as missing.
type disabler interface {
	Disabled(name string) bool
}

// missingDAGs remembers the last definition of each DAG and what is known
// of the missing ones. Its own lock, taken after the runner's: the claim
// path asks without the runner's.
type missingDAGs struct {
	mu   sync.Mutex
	last map[string]*dag.DAG
	gone map[string]*goneDAG
	// changed: a DAG went missing, came back or its versions were found
	// since the snapshot last looked (its wait reasons are stale).
	changed atomic.Bool
}

// goneDAG is one DAG's absence, from when the runner noticed it until its
// file is back. The store is asked outside the claim path (checkMissing);
// resolve only reads what it found.
type goneDAG struct {
	since   time.Time
	checked bool // the store answered: known is set
	known   bool // this runner loaded it, or the store has versions of it
	// versions are those the queued runs were queued with; stored holds
	// each one looked up, nil when the store lacks it.
	versions []int
	stored   map[int]*dag.DAG
}

// ready reports whether every queued run's version is stored: nothing to
// wait for.
func (g *goneDAG) ready() bool {
	if !g.checked || len(g.versions) == 0 {
		return false
	}
	for _, v := range g.versions {
		if g.stored[v] == nil {
			return false
		}
	}
	return true
}

// newest is the newest stored version looked up, for the DAG's limits.
func (g *goneDAG) newest() *dag.DAG {
	var best *dag.DAG
	for _, d := range g.stored {
		if d != nil && (best == nil || d.Version > best.Version) {
			best = d
		}
	}
	return best
}

// remember records the definition a run was queued with.
func (m *missingDAGs) remember(name string, def *dag.DAG) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]*dag.DAG{}
	}
	if _, missing := m.gone[name]; !missing {
		m.last[name] = def
	}
}

// goneLocked is name's absence, begun at now if it is new.
func (m *missingDAGs) goneLocked(name string, now time.Time) *goneDAG {
	if g := m.gone[name]; g != nil {
		return g
	}
	if m.gone == nil {
		m.gone = map[string]*goneDAG{}
	}
	g := &goneDAG{since: now, stored: map[int]*dag.DAG{}}
	m.gone[name] = g
	return g
}

// lastFits is the last definition this runner knew of name when a run of
// version may run it (the same version, or a run without one).
func (m *missingDAGs) lastFits(name string, version int) *dag.DAG {
	last := m.last[name]
	if last != nil && (version == 0 || last.Version == version) {
		return last
	}
	return nil
}

// checkMissing asks the store about the DAGs of queued runs whose files
// are missing: whether it knows them, and the versions their runs were
// queued with. It runs before each claim, never inside one.
func (r *Runner) checkMissing(ctx context.Context) {
	r.mu.Lock()
	var gone map[string][]int
	for name := range r.byDAG {
		if _, ok := r.cfg.DAGs.Lookup(name); !ok {
			if gone == nil {
				gone = map[string][]int{}
			}
			gone[name] = nil
		}
	}
	if gone != nil {
		r.queue.each(func(it *queued) bool {
			if vs, ok := gone[it.dag]; ok && !slices.Contains(vs, it.run.DAGVersion) {
				gone[it.dag] = append(vs, it.run.DAGVersion)
			}
			return true
		})
	}
	r.mu.Unlock()
	r.missing.mu.Lock()
	for name := range r.missing.gone {
		if _, queued := gone[name]; !queued {
			delete(r.missing.gone, name) // its runs left the queue
		}
	}
	r.missing.mu.Unlock()
	for name, versions := range gone {
		if d, ok := r.cfg.DAGs.(disabler); ok && d.Disabled(name) {
			continue
		}
		r.checkGone(ctx, name, versions)
	}
}

// checkGone looks up what the store has of a missing DAG's versions; each
// is asked once per absence.
func (r *Runner) checkGone(ctx context.Context, name string, versions []int) {
	m := &r.missing
	m.mu.Lock()
	g := m.goneLocked(name, r.clock.Now())
	checked, wasReady := g.checked, g.ready()
	var ask []int
	for _, v := range versions {
		if _, looked := g.stored[v]; !looked {
			ask = append(ask, v)
		}
	}
	known := m.last[name] != nil
	m.mu.Unlock()

	if !checked && !known {
		vs, err := r.st.DAGVersions(ctx, name)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("reading a missing dag's stored versions", "dag", name, "err", err)
			}
			return // asked again at the next pass; the runs wait meanwhile
		}
		known = len(vs) > 0
	}
	found := make(map[int]*dag.DAG, len(ask))
	for _, v := range ask {
		def, err := r.storedVersion(ctx, name, v)
		if err != nil && ctx.Err() != nil {
			return
		}
		found[v] = def
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	g = m.gone[name]
	if g == nil {
		return // back meanwhile
	}
	g.checked, g.versions = true, versions
	g.known = g.known || known
	for v, def := range found {
		g.stored[v] = def
	}
	if !checked {
		r.log.Warn("dag missing; its queued runs run their stored versions or wait for it", "dag", name, "versions", versions, "grace", r.cfg.MissingGrace)
	}
	if ready := g.ready(); !checked || ready != wasReady {
		m.changed.Store(true)
		if ready {
			r.log.Info("dag missing; its queued runs run the versions they were queued with, from the store", "dag", name, "versions", versions)
		}
	}
}

// storedVersion parses version of name from the store; nil when the
// store lacks it (or the DAGs cannot parse stored versions).
func (r *Runner) storedVersion(ctx context.Context, name string, version int) (*dag.DAG, error) {
	sd, ok := r.cfg.DAGs.(StoredDAGs)
	if !ok || version == 0 {
		return nil, nil
	}
	def, err := sd.StoredVersion(ctx, name, version)
	if err != nil {
		if !errors.Is(err, store.ErrVersionNotFound) && ctx.Err() == nil {
			r.log.Warn("reading a missing dag's stored version", "dag", name, "version", version, "err", err)
		}
		return nil, err
	}
	return def, nil
}

// resolve returns the definition giving a DAG's limits, or the reason its
// queued runs wait for the DAG's file; def nil and hold "" mean its runs
// are claimed and fail (unknown, switched off, or past the grace with
// nothing to run).
func (r *Runner) resolve(name string, now time.Time) (def *dag.DAG, hold string) {
	m := &r.missing
	if def, ok := r.cfg.DAGs.Lookup(name); ok {
		m.mu.Lock()
		_, was := m.gone[name]
		delete(m.gone, name)
		m.mu.Unlock()
		m.remember(name, def)
		if was {
			r.log.Info("dag is back; its queued runs go on", "dag", name)
			m.changed.Store(true)
		}
		return def, ""
	}
	if d, ok := r.cfg.DAGs.(disabler); ok && d.Disabled(name) {
		m.mu.Lock()
		delete(m.last, name)
		delete(m.gone, name)
		m.mu.Unlock()
		return nil, ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.goneLocked(name, now)
	since := g.since.Format("15:04:05")
	switch {
	case !g.checked && m.last[name] == nil:
		return nil, fmt.Sprintf("dag file missing since %s; looking for its stored versions", since)
	case g.checked && !g.known && m.last[name] == nil:
		return nil, ""
	case g.ready():
		return g.newest(), ""
	}
	fallback := g.newest()
	if fallback == nil {
		fallback = m.last[name]
	}
	until := g.since.Add(r.cfg.MissingGrace)
	if now.Before(until) {
		then := "fails: the version it was queued with is not stored"
		if r.lastCoversLocked(name, g) {
			then = "runs with the last version known"
		}
		// Fixed text: the snapshot caches wait reasons until the queue changes.
		return nil, fmt.Sprintf("dag file missing since %s; waits for it until %s, then %s", since, until.Format("15:04:05"), then)
	}
	return fallback, ""
}

// lastCoversLocked reports whether every queued run the store cannot serve
// may run the last definition known.
func (r *Runner) lastCoversLocked(name string, g *goneDAG) bool {
	for _, v := range g.versions {
		if g.stored[v] == nil && r.missing.lastFits(name, v) == nil {
			return false
		}
	}
	return true
}

// missingVersion is the definition a claimed run of a missing DAG runs,
// or why it fails; gone is false when its DAG is not missing.
func (r *Runner) missingVersion(ctx context.Context, run store.Run) (def *dag.DAG, why string, gone bool) {
	m := &r.missing
	m.mu.Lock()
	g := m.gone[run.DAG]
	if g == nil {
		m.mu.Unlock()
		return nil, "", false
	}
	def, looked := g.stored[run.DAGVersion]
	last := m.lastFits(run.DAG, run.DAGVersion)
	known := g.known || m.last[run.DAG] != nil
	m.mu.Unlock()
	if !known {
		return nil, "", true
	}
	if !looked {
		// Queued after the last look (another process's run).
		def, _ = r.storedVersion(ctx, run.DAG, run.DAGVersion)
	}
	switch {
	case def != nil:
		return def, "", true
	case last != nil:
		return last, "", true
	case run.DAGVersion == 0:
		return nil, fmt.Sprintf("dag %q: its file is missing and the run was queued without a stored version", run.DAG), true
	}
	return nil, fmt.Sprintf("dag %q: its file is missing and version %d, the one the run was queued with, is not stored", run.DAG, run.DAGVersion), true
}
