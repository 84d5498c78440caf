package runqueue

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

func (m *Model) detailHeader() string {
	st := m.c.Styles
	r := m.findRun(m.detail)
	if r == nil {
		return common.PadRight(st.Bold.Render(fmt.Sprintf("run #%d", m.detail))+"  "+st.Muted.Render("[no longer in the snapshot]"), m.Width)
	}
	follow := ""
	if m.Pager.Follow && (r.State == api.RunRunning || r.State == api.RunQueued) {
		follow = "  " + st.Info.Render("following")
	}
	return common.PadRight(st.Bold.Render(fmt.Sprintf("run #%d %s", r.ID, r.DAG))+"  "+common.Badge(st, r.State)+follow, m.Width)
}

func (m *Model) refreshDetail() {
	m.Pager.SetContent(m.detailText())
}

func (m *Model) detailText() string {
	st := m.c.Styles
	r := m.findRun(m.detail)
	if r == nil {
		return st.Muted.Render("The run has left the recent list.")
	}
	now := m.c.Clock.Now()
	var b strings.Builder
	field := func(label, value string) {
		fmt.Fprintf(&b, "%s %s\n", st.Label.Render(fmt.Sprintf("%-9s", label)), value)
	}
	field("trigger", fmt.Sprintf("%s · priority %d", orDash(r.Trigger), r.Priority))
	field("queued", common.Clock(r.QueuedAt))
	if !r.StartedAt.IsZero() {
		field("started", fmt.Sprintf("%s (waited %s)", common.Clock(r.StartedAt), common.Duration(r.StartedAt.Sub(r.QueuedAt))))
	}
	switch {
	case !r.FinishedAt.IsZero():
		field("finished", fmt.Sprintf("%s (took %s)", common.Clock(r.FinishedAt), common.Duration(r.FinishedAt.Sub(r.StartedAt))))
	case !r.StartedAt.IsZero():
		field("elapsed", common.Duration(now.Sub(r.StartedAt).Truncate(time.Second)))
	}
	if r.State == api.RunQueued && r.WaitReason != "" {
		field("waits", st.Warn.Render(common.OneLine(r.WaitReason)))
	}
	field("progress", common.Progress(st, r.Done, r.Total, 24))
	if r.Batch != "" {
		field("batch", batchText(r.Batch))
		if t, ok := m.tickField(r); ok {
			field("tick", t)
		}
	}
	if len(r.Config) > 0 {
		field("config", common.OneLine(string(r.Config)))
	}
	if r.Error != "" {
		field("error", st.Error.Render(common.OneLine(r.Error)))
	}
	if r.RerunOf != 0 {
		field("re-run of", fmt.Sprintf("#%d", r.RerunOf))
	}
	if r.DAGVersion != 0 {
		field("dag version", fmt.Sprintf("v%d", r.DAGVersion))
	}

	b.WriteString("\n" + st.Section.Render(fmt.Sprintf("Tasks (%d)", len(r.Tasks))) + "\n")
	b.WriteString(st.Muted.Render(common.Columns(m.Width, []int{2, 22, 16, 7, 9, 9}, "", "TASK", "STATE", "TRY", "STARTED", "TOOK", "")) + "\n")
	for i := range r.Tasks {
		t := &r.Tasks[i]
		b.WriteString(common.Columns(m.Width, []int{2, 22, 16, 7, 9, 9}, "",
			stateMark(t.State)+" "+t.ID, common.StateText(st, t.State), fmt.Sprint(t.Attempt),
			clockOrDash(t.StartedAt), taskElapsed(t, now), "") + "\n")
		switch {
		case t.State == api.TaskSkipped && strings.HasPrefix(t.Error, "succeeded in #"):
			// Cleared from failed: not an error, where it succeeded.
			b.WriteString("    " + st.Muted.Render("skipped ("+t.Error+")") + "\n")
		case t.Error != "":
			b.WriteString("    " + st.Error.Render("error: "+common.OneLine(t.Error)) + "\n")
		}
	}
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.LogTail == "" {
			continue
		}
		b.WriteString("\n" + st.Section.Render("Log tail · "+t.ID))
		if t.LogFile != "" {
			b.WriteString(st.Muted.Render("  (full log: " + t.LogFile + ")"))
		}
		b.WriteString("\n")
		for _, line := range strings.Split(strings.TrimRight(t.LogTail, "\n"), "\n") {
			b.WriteString("  " + common.OneLine(line) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func clockOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return common.Clock(t)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
