package runqueue

import (
	"fmt"

	"github.com/sluice-dev/sluice/engine/api"
)

type rowKind uint8

const (
	rowHeader rowKind = iota
	rowRun
	rowTask
	// The active backfills, above the queue: a header and one row each
	// (run indexes the backfills the rows were built from).
	rowBackfillHeader
	rowBackfill
)

// Sections of the queue, in display order.
const (
	secQueued = iota
	secRunning
	secFinished
)

// row is one line of the queue; it indexes the snapshot instead of copying.
type row struct {
	kind rowKind
	sec  int
	run  int // index into the section's slice
	task int
}

// rowID identifies a row across rebuilds: a run keeps the cursor as it
// moves from queued to running to finished.
type rowID struct {
	kind rowKind
	sec  int // headers only
	run  int64
	task string
}

func (m *Model) idOf(snap *api.Snapshot, r row) rowID {
	switch r.kind {
	case rowHeader, rowBackfillHeader:
		return rowID{kind: r.kind, sec: r.sec}
	case rowBackfill:
		return rowID{kind: rowBackfill, run: m.bf.shown[r.run].ID}
	case rowTask:
		run := &section(snap, r.sec)[r.run]
		return rowID{kind: rowTask, run: run.ID, task: run.Tasks[r.task].ID}
	}
	return rowID{kind: rowRun, run: section(snap, r.sec)[r.run].ID}
}

func section(snap *api.Snapshot, sec int) []api.Run {
	switch sec {
	case secQueued:
		return snap.Runs.Queued
	case secRunning:
		return snap.Runs.Running
	default:
		return snap.Runs.Finished
	}
}

var sectionNames = [...]string{"Queued", "Running", "Finished"}

func build(snap *api.Snapshot, backfills []api.Backfill, match func(string) bool, trigger func(string) bool) []row {
	if snap == nil {
		return nil
	}
	n := len(snap.Runs.Queued) + len(snap.Runs.Finished) + 3 + len(backfills) + 1
	for _, r := range snap.Runs.Running {
		n += 1 + len(r.Tasks)
	}
	rows := make([]row, 0, n)
	if len(backfills) > 0 {
		rows = append(rows, row{kind: rowBackfillHeader})
		for i := range backfills {
			rows = append(rows, row{kind: rowBackfill, run: i})
		}
	}
	for sec := secQueued; sec <= secFinished; sec++ {
		runs := section(snap, sec)
		rows = append(rows, row{kind: rowHeader, sec: sec})
		for i := range runs {
			r := &runs[i]
			if !trigger(r.Trigger) {
				continue
			}
			if match != nil && !match(fmt.Sprintf("#%d %s %s %s %s", r.ID, r.DAG, r.State, r.Trigger, r.Batch)) {
				continue
			}
			rows = append(rows, row{kind: rowRun, sec: sec, run: i})
			if sec == secRunning {
				for t := range r.Tasks {
					rows = append(rows, row{kind: rowTask, sec: sec, run: i, task: t})
				}
			}
		}
	}
	return rows
}

// rebuild recomputes the rows from m.snap; prev is the snapshot the
// current rows index, to find the selected row again.
func (m *Model) rebuild(prev *api.Snapshot) {
	var keep rowID
	had := false
	if i := m.List.Cursor(); i >= 0 && i < len(m.rows) && prev != nil {
		keep, had = m.idOf(prev, m.rows[i]), true
	}
	m.bf.shown = m.shownBackfills()
	m.rows = build(m.snap, m.bf.shown, m.Filter.Matcher(), m.triggerMatch)
	m.List.SetLen(len(m.rows))
	m.nameWidth, m.idWidth = 0, 0
	m.shown = [len(m.shown)]int{}
	for _, r := range m.rows {
		if r.kind == rowRun {
			m.shown[r.sec]++
			run := m.runAt(r)
			m.nameWidth = max(m.nameWidth, len(run.DAG))
			m.idWidth = max(m.idWidth, digits(run.ID)+1)
		}
	}
	if !had {
		return
	}
	for i := range m.rows {
		if m.idOf(m.snap, m.rows[i]) == keep {
			m.List.Select(i)
			return
		}
	}
}

func digits(n int64) int {
	d := 1
	for n >= 10 || n <= -10 {
		n /= 10
		d++
	}
	if n < 0 {
		d++
	}
	return d
}

func (m *Model) runAt(r row) *api.Run {
	return &section(m.snap, r.sec)[r.run]
}

// shownBackfills are the active backfills the filters let through: the
// trigger filter keeps them on "all" and "backfill".
func (m *Model) shownBackfills() []api.Backfill {
	if f := triggerFilters[m.trigger]; f.only != "" && f.only != "backfill" {
		return nil
	}
	match := m.Filter.Matcher()
	var out []api.Backfill
	for _, b := range m.bf.active {
		if match == nil || match(fmt.Sprintf("backfill #%d %s", b.ID, b.DAG)) {
			out = append(out, b)
		}
	}
	return out
}

// selectedRun is the run under the cursor (or owning the task under it).
func (m *Model) selectedRun() *api.Run {
	i := m.List.Cursor()
	if i < 0 || i >= len(m.rows) {
		return nil
	}
	if k := m.rows[i].kind; k != rowRun && k != rowTask {
		return nil
	}
	return m.runAt(m.rows[i])
}

func (m *Model) findRun(id int64) *api.Run {
	if m.snap == nil {
		return nil
	}
	for sec := secQueued; sec <= secFinished; sec++ {
		runs := section(m.snap, sec)
		for i := range runs {
			if runs[i].ID == id {
				return &runs[i]
			}
		}
	}
	return nil
}
