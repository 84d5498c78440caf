package runner

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
)

// A DAG file can vanish for a moment — an editor that writes by rename, a
// sync tool, a volume remounted — and its queued runs (Kafka batches whose
// offsets are committed among them) must not fail for it (issue 18). A
// queued run of a DAG the runner has seen, and that is now missing, waits
// with a visible reason for MissingGrace; if the DAG is still missing then,
// the run runs with the last definition the runner knew. A DAG switched off
// (enabled: false) is not missing: its runs fail at once, as do runs of a
// DAG the runner never saw (`sluice trigger ghost`).

// disabler is what a DAGs may also say: the name is known and deliberately
// switched off. Without it every absence counts as missing.
type disabler interface {
	Disabled(name string) bool
}

// missingDAGs remembers the last definition of each DAG and since when
// the missing ones are missing. Its own lock: the claim path asks without
// the runner's.
type missingDAGs struct {
	mu    sync.Mutex
	last  map[string]*dag.DAG
	since map[string]time.Time
	// changed: a DAG went missing or came back since the snapshot last
	// looked (its wait reasons are stale).
	changed atomic.Bool
}

// remember records the definition a run was queued with.
func (m *missingDAGs) remember(name string, def *dag.DAG) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last, m.since = map[string]*dag.DAG{}, map[string]time.Time{}
	}
	if _, missing := m.since[name]; !missing {
		m.last[name] = def
	}
}

// resolve returns the definition a queued run of name starts with, or the
// reason it waits for its DAG to come back; def nil and hold "" mean the
// DAG is unknown or switched off.
func (r *Runner) resolve(name string, now time.Time) (def *dag.DAG, hold string) {
	m := &r.missing
	if def, ok := r.cfg.DAGs.Lookup(name); ok {
		m.mu.Lock()
		_, was := m.since[name]
		delete(m.since, name)
		m.mu.Unlock()
		m.remember(name, def)
		if was {
			r.log.Info("dag is back; its queued runs go on", "dag", name)
			m.changed.Store(true)
		}
		return def, ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	last := m.last[name]
	if last == nil {
		return nil, ""
	}
	if d, ok := r.cfg.DAGs.(disabler); ok && d.Disabled(name) {
		delete(m.last, name)
		delete(m.since, name)
		return nil, ""
	}
	since, was := m.since[name]
	if !was {
		since = now
		m.since[name] = now
		r.log.Warn("dag missing; its queued runs wait for it", "dag", name, "grace", r.cfg.MissingGrace)
		m.changed.Store(true)
	}
	if until := since.Add(r.cfg.MissingGrace); now.Before(until) {
		// Fixed text: the snapshot caches wait reasons until the queue changes.
		return nil, fmt.Sprintf("dag file missing since %s; if it is not back by %s, runs with the last version known",
			since.Format("15:04:05"), until.Format("15:04:05"))
	}
	return last, ""
}
