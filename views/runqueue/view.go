package runqueue

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// View implements common.Component.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	if m.markForm != nil {
		return m.markFormView()
	}
	if m.detail != 0 {
		return m.detailHeader() + "\n" + m.Pager.View()
	}
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(m.Filter.ViewUnder(m.summary(), m.Width))
	b.WriteString("\n")
	if m.snap == nil {
		b.WriteString(common.Lines(st.Muted.Render("  waiting for the engine…"), m.Width, m.List.Height()))
		return b.String()
	}
	b.WriteString(common.RenderList(m.c, &m.List, m.Width, m.renderRow))
	return b.String()
}

func (m *Model) summary() string {
	st := m.c.Styles
	if m.snap == nil {
		return st.Muted.Render("no snapshot yet")
	}
	r := m.snap.Runs
	failed := 0
	for i := range r.Finished {
		if r.Finished[i].State == api.RunFailed {
			failed++
		}
	}
	s := fmt.Sprintf("%d queued · %d running · %s finished", len(r.Queued), len(r.Running), common.Thousands(max(r.FinishedTotal, len(r.Finished))))
	if failed > 0 {
		s += st.Muted.Render(" · ") + st.Error.Render(fmt.Sprintf("%d failed", failed))
	}
	if m.trigger != 0 {
		s += st.Muted.Render(" · ") + st.Info.Render("trigger: "+triggerFilters[m.trigger].label)
	}
	return s
}

// stateMark is a one-cell symbol beside the state word, never instead of it.
// A run state is one of the task states' words.
func stateMark[S api.RunState | api.TaskState](state S) string {
	switch api.TaskState(state) {
	case api.TaskSuccess:
		return "✓"
	case api.TaskFailed, api.TaskUpstreamFailed:
		return "✗"
	case api.TaskRunning:
		return "▶"
	case api.TaskRetrying:
		return "↻"
	case api.TaskCancelled, api.TaskSkipped:
		return "⊘"
	case api.TaskQueued, api.TaskPending:
		return "·"
	}
	return "?"
}

func (m *Model) renderRow(i, width int) string {
	r := m.rows[i]
	st := m.c.Styles
	now := m.c.Clock.Now()
	switch r.kind {
	case rowBackfillHeader:
		title := st.Section.Render(fmt.Sprintf("Backfills (%d active)", len(m.bf.shown)))
		if m.bf.err != "" {
			title += st.Error.Render("  " + common.OneLine(m.bf.err))
		}
		return common.Truncate(title, width)
	case rowBackfill:
		b := &m.bf.shown[r.run]
		barW := 16
		if width < 100 {
			barW = 10
		}
		nameW := min(max(m.nameWidth, len(b.DAG), 8), 32)
		return common.Columns(width, []int{max(m.idWidth, 3) + 2, nameW, barW},
			fmt.Sprintf("bf#%d", b.ID), b.DAG, common.Progress(st, b.Succeeded+b.Failed+b.Cancelled, b.Total, barW),
			backfillProgress(b, width >= 100))
	case rowHeader:
		n := len(section(m.snap, r.sec))
		count := fmt.Sprintf("%s (%d)", sectionNames[r.sec], n)
		if m.Filter.Active() || m.trigger != 0 {
			// Counts say what the filter leaves, not what it hides.
			count = fmt.Sprintf("%s (%d of %d)", sectionNames[r.sec], m.shown[r.sec], n)
		}
		title := st.Section.Render(count)
		switch {
		case n == 0:
			title += st.Muted.Render("  " + emptyText[r.sec])
		case m.shown[r.sec] == 0:
			title += st.Muted.Render("  none match the filter")
		}
		// The snapshot carries the latest finished runs only: say so,
		// and where the rest are.
		if total := m.snap.Runs.FinishedTotal; r.sec == secFinished && total > n {
			title += st.Muted.Render(fmt.Sprintf("  latest %s of %s — /filter or `sluice runs list`", common.Thousands(n), common.Thousands(total)))
		}
		return common.Truncate(title, width)
	case rowTask:
		run := m.runAt(r)
		t := &run.Tasks[r.task]
		line := common.Columns(width, []int{min(max(m.nameWidth, 8), 32) + 6, 18, 6},
			"   "+stateMark(t.State)+" "+t.ID,
			common.StateText(st, t.State)+attemptText(t.Attempt),
			st.Muted.Render(taskElapsed(t, now)),
			st.Error.Render(common.OneLine(t.Error)))
		return line
	}
	run := m.runAt(r)
	id := fmt.Sprintf("#%d", run.ID)
	idW, nameW, barW := max(m.idWidth, 3), min(max(m.nameWidth, 8), 32), 16
	if width < 100 {
		nameW, barW = min(max(m.nameWidth, 8), width/4), 10
	}
	state := stateMark(run.State) + " " + common.StateText(st, run.State)
	switch r.sec {
	case secQueued:
		wait := run.WaitReason
		if wait == "" {
			wait = "next in line"
		}
		return common.Columns(width, []int{idW, nameW, 11, 6},
			id, run.DAG, state, st.Muted.Render(common.Duration(now.Sub(run.QueuedAt).Truncate(time.Second))),
			st.Warn.Render("waits: "+common.OneLine(wait)))
	case secRunning:
		return common.Columns(width, []int{idW, nameW, 11, 6, barW},
			id, run.DAG, state, st.Muted.Render(common.Duration(now.Sub(run.StartedAt).Truncate(time.Second))),
			common.Progress(st, run.Done, run.Total, barW), st.Muted.Render(run.Trigger))
	default:
		outcome := st.Muted.Render(common.Clock(run.FinishedAt) + " " + run.Trigger)
		if run.Error != "" {
			outcome = st.Error.Render(common.OneLine(run.Error))
		}
		return common.Columns(width, []int{idW, nameW, 11, 6},
			id, run.DAG, state, st.Muted.Render(common.Duration(run.FinishedAt.Sub(run.StartedAt))), outcome)
	}
}

var emptyText = [...]string{"nothing waiting", "nothing running", "no runs yet"}

func attemptText(attempt int) string {
	if attempt > 1 {
		return fmt.Sprintf(" (try %d)", attempt)
	}
	return ""
}

func taskElapsed(t *api.Task, now time.Time) string {
	switch {
	case t.StartedAt.IsZero():
		return ""
	case t.FinishedAt.IsZero():
		return common.Duration(now.Sub(t.StartedAt).Truncate(time.Second))
	}
	return common.Duration(t.FinishedAt.Sub(t.StartedAt))
}
