package api

import (
	"encoding/json"

	"github.com/sluice-dev/sluice/engine/api/text"
)

// Sanitized returns s with every string that came from outside the engine
// — names, keys, locations, errors, task output, diffs, log records — made
// safe for a terminal (package text): names and one-line fields escape
// newlines too, errors, output and diffs keep them for the views that
// render them as lines. The engine hands out only sanitised snapshots, so
// every front end (console, SSH sessions, CLI) inherits the guarantee.
//
// Values are copied only where something changes: s is not modified, and a
// clean snapshot shares everything with s but the top-level value.
func (s *Snapshot) Sanitized() *Snapshot {
	out := *s
	out.DAGs = each(s.DAGs, sanitizeDAG)
	out.Sources = each(s.Sources, func(v Source) (Source, bool) {
		c := anyOf(line(&v.Name), line(&v.Location), block(&v.Error), sanitizeCommit(&v.Commit))
		return v, c
	})
	out.Runs.Queued = each(s.Runs.Queued, sanitizeRun)
	out.Runs.Running = each(s.Runs.Running, sanitizeRun)
	out.Runs.Finished = each(s.Runs.Finished, sanitizeRun)
	out.Sensors = each(s.Sensors, sanitizeSensor)
	out.Reviews = each(s.Reviews, sanitizeReview)
	if s.Meta != nil {
		m := *s.Meta
		changed := block(&m.Notice)
		c := each(m.Centrality, func(v Centrality) (Centrality, bool) { c := line(&v.ID); return v, c })
		changed = changed || len(c) > 0 && &c[0] != &m.Centrality[0]
		m.Centrality = c
		days := each(m.ModelsPerDay, func(v DayCount) (DayCount, bool) { c := line(&v.Day); return v, c })
		changed = changed || len(days) > 0 && &days[0] != &m.ModelsPerDay[0]
		m.ModelsPerDay = days
		if changed {
			out.Meta = &m
		}
	}
	line(&out.Store.Error)
	out.Notify = each(s.Notify, func(v NotifyTarget) (NotifyTarget, bool) {
		c := anyOf(line(&v.Name), line(&v.Kind), line(&v.LastError))
		return v, c
	})
	out.Logs = each(s.Logs, func(v LogRecord) (LogRecord, bool) { c := anyOf(line(&v.Msg), line(&v.Attrs)); return v, c })
	return &out
}

func sanitizeDAG(d DAG) (DAG, bool) {
	changed := anyOf(line(&d.Name), line(&d.Source), line(&d.Location), line(&d.Checksum), line(&d.ConflictWith))
	errs := each(d.Errors, func(e ErrorLine) (ErrorLine, bool) {
		c := anyOf(line(&e.Node), line(&e.Path), block(&e.Msg))
		return e, c
	})
	if len(errs) > 0 && &errs[0] != &d.Errors[0] {
		d.Errors, changed = errs, true
	}
	if d.Def != nil {
		if def, ok := sanitizeDef(*d.Def); ok {
			d.Def, changed = &def, true
		}
	}
	if sanitizeCommit(&d.Origin) {
		changed = true
	}
	if d.Paused != nil {
		p := *d.Paused
		if anyOf(line(&p.By), line(&p.Reason)) {
			d.Paused, changed = &p, true
		}
	}
	if d.Pinned != nil {
		p := *d.Pinned
		if line(&p.By) {
			d.Pinned, changed = &p, true
		}
	}
	return d, changed
}

// sanitizeCommit replaces *c by a sanitised copy when it needs one: a git
// commit's author and subject are anyone's text.
func sanitizeCommit(c **Commit) bool {
	if *c == nil {
		return false
	}
	v := **c
	if !anyOf(line(&v.Hash), line(&v.Short), line(&v.Author), line(&v.Subject)) {
		return false
	}
	*c = &v
	return true
}

func sanitizeDef(d DAGDef) (DAGDef, bool) {
	changed := anyOf(line(&d.Description), line(&d.Schedule), block(&d.Definition))
	for k, v := range d.Tags {
		if !text.Safe(k) || !text.Safe(v) {
			tags := make(map[string]string, len(d.Tags))
			for k, v := range d.Tags {
				tags[text.Line(k)] = text.Line(v)
			}
			d.Tags, changed = tags, true
			break
		}
	}
	nodes := each(d.Nodes, func(n Node) (Node, bool) {
		c := anyOf(line(&n.ID), line(&n.Kind), lines(&n.DependsOn), line(&n.Command), line(&n.Summary))
		return n, c
	})
	if len(nodes) > 0 && &nodes[0] != &d.Nodes[0] {
		d.Nodes, changed = nodes, true
	}
	specs := each(d.Sensors, func(s SensorSpec) (SensorSpec, bool) {
		c := anyOf(line(&s.Type), lines(&s.Topics), line(&s.Group), line(&s.Summary))
		return s, c
	})
	if len(specs) > 0 && &specs[0] != &d.Sensors[0] {
		d.Sensors, changed = specs, true
	}
	return d, changed
}

func sanitizeRun(r Run) (Run, bool) {
	changed := anyOf(line(&r.DAG), line(&r.Trigger), line(&r.WaitReason), block(&r.Error), line(&r.Batch))
	if len(r.Config) > 0 {
		// Inside valid JSON a control character is already escaped; a bidi
		// override may stand raw in a string, where \u202e means the same.
		if c := text.Block(string(r.Config)); c != string(r.Config) {
			r.Config, changed = json.RawMessage(c), true
		}
	}
	tasks := each(r.Tasks, func(t Task) (Task, bool) {
		c := anyOf(line(&t.ID), block(&t.Error), block(&t.LogTail), line(&t.LogFile))
		return t, c
	})
	if len(tasks) > 0 && &tasks[0] != &r.Tasks[0] {
		r.Tasks, changed = tasks, true
	}
	return r, changed
}

func sanitizeSensor(s Sensor) (Sensor, bool) {
	changed := anyOf(line(&s.DAG), lines(&s.Topics), line(&s.Group), block(&s.Error), line(&s.PausedBy))
	ticks := each(s.Ticks, func(t Tick) (Tick, bool) {
		c := anyOf(line(&t.Skipped), block(&t.Error))
		ranges := each(t.Ranges, func(r TickRange) (TickRange, bool) { c := line(&r.Topic); return r, c })
		if len(ranges) > 0 && &ranges[0] != &t.Ranges[0] {
			t.Ranges, c = ranges, true
		}
		return t, c
	})
	if len(ticks) > 0 && &ticks[0] != &s.Ticks[0] {
		s.Ticks, changed = ticks, true
	}
	lag := s.Lag
	c := anyOf(line(&lag.Group), line(&lag.State), line(&lag.Reason))
	parts := each(lag.Partitions, func(p PartitionLag) (PartitionLag, bool) {
		c := anyOf(line(&p.Topic), line(&p.Reason))
		return p, c
	})
	if len(parts) > 0 && &parts[0] != &lag.Partitions[0] {
		lag.Partitions, c = parts, true
	}
	if c {
		s.Lag, changed = lag, true
	}
	return s, changed
}

func sanitizeReview(r Review) (Review, bool) {
	changed := anyOf(line(&r.Kind), line(&r.Branch), line(&r.Base), line(&r.Title), lines(&r.Files), block(&r.Diff), line(&r.URL), line(&r.Checks), block(&r.Error),
		line(&r.GitHubAPI), block(&r.RejectReason))
	history := each(r.History, func(e ReviewEvent) (ReviewEvent, bool) { c := block(&e.Note); return e, c })
	if len(history) > 0 && &history[0] != &r.History[0] {
		r.History, changed = history, true
	}
	subjects := each(r.Subjects, sanitizeSubject)
	if len(subjects) > 0 && &subjects[0] != &r.Subjects[0] {
		r.Subjects, changed = subjects, true
	}
	return r, changed
}

func sanitizeSubject(s ReviewSubject) (ReviewSubject, bool) {
	changed := anyOf(line(&s.ID), line(&s.Name), line(&s.Reason), line(&s.Excluded))
	if s.Evidence != nil {
		ev := *s.Evidence
		if anyOf(line(&ev.Unreached), line(&ev.LastStatus), line(&ev.Centrality.ID), lines(&ev.BIQueries)) {
			s.Evidence, changed = &ev, true
		}
	}
	return s, changed
}

// each returns xs with f applied to every element, copying xs the first
// time f reports a change, and xs itself when nothing changed. f takes and
// returns values: a pointer to a loop variable would escape to the heap,
// one allocation per element of every snapshot.
func each[T any](xs []T, f func(T) (T, bool)) []T {
	for i := range xs {
		v, changed := f(xs[i])
		if !changed {
			continue
		}
		out := make([]T, len(xs))
		copy(out, xs)
		out[i] = v
		for j := i + 1; j < len(out); j++ {
			out[j], _ = f(out[j])
		}
		return out
	}
	return xs
}

func line(s *string) bool { return set(s, text.Line(*s)) }

func block(s *string) bool { return set(s, text.Block(*s)) }

func set(s *string, v string) bool {
	if v == *s {
		return false
	}
	*s = v
	return true
}

func lines(xs *[]string) bool {
	out := each(*xs, func(s string) (string, bool) { c := line(&s); return s, c })
	if len(out) > 0 && &out[0] != &(*xs)[0] {
		*xs = out
		return true
	}
	return false
}

// anyOf reports whether any of its arguments is true; unlike ||, every
// argument is evaluated, so every field is sanitised.
func anyOf(changed ...bool) bool {
	for _, c := range changed {
		if c {
			return true
		}
	}
	return false
}
