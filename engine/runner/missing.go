package runner

import (
	"fmt"
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

// resolveLocked returns the definition a queued run of name starts with,
// or the reason it waits for its DAG to come back; def nil and hold ""
// mean the DAG is unknown or disabled. Under r.mu.
func (r *Runner) resolveLocked(name string, now time.Time) (def *dag.DAG, hold string) {
	if def, ok := r.cfg.DAGs.Lookup(name); ok {
		r.lastDefs[name] = def
		if _, was := r.missingSince[name]; was {
			delete(r.missingSince, name)
			r.log.Info("dag is back; its queued runs go on", "dag", name)
			r.version++
		}
		return def, ""
	}
	last := r.lastDefs[name]
	if last == nil {
		return nil, ""
	}
	if d, ok := r.cfg.DAGs.(disabler); ok && d.Disabled(name) {
		delete(r.lastDefs, name)
		delete(r.missingSince, name)
		return nil, ""
	}
	since, was := r.missingSince[name]
	if !was {
		since = now
		r.missingSince[name] = now
		r.log.Warn("dag missing; its queued runs wait for it", "dag", name, "grace", r.cfg.MissingGrace)
		r.version++
	}
	if until := since.Add(r.cfg.MissingGrace); now.Before(until) {
		// Fixed text: the snapshot caches wait reasons until the queue changes.
		return nil, fmt.Sprintf("dag file missing since %s; if it is not back by %s, runs with the last version known",
			since.Format("15:04:05"), until.Format("15:04:05"))
	}
	return last, ""
}

// rememberDefLocked records the definition a run was queued with. Under
// r.mu.
func (r *Runner) rememberDefLocked(name string, def *dag.DAG) {
	if _, missing := r.missingSince[name]; !missing {
		r.lastDefs[name] = def
	}
}
