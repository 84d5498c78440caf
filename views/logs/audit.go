package logs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/views/common"
)

// AuditLoadedMsg carries the newest audit entries, or why they could not
// be read.
type AuditLoadedMsg struct {
	Entries []api.AuditEntry // newest first, as the engine lists them
	Err     error
}

// auditLimit bounds what the pane reads: the latest actions are what an
// operator looks for here; `sluice audit --since` has the rest.
const auditLimit = 500

// audit is the pane's second list (A): who did what, when, to what, and
// how it ended, instead of the engine's log records.
type audit struct {
	on      bool
	entries []api.AuditEntry // oldest first, like the log records
	loaded  bool
	loading bool
	err     string
}

// toggleAudit switches between the log records and the audit log.
func (m *Model) toggleAudit() tea.Cmd {
	m.audit.on = !m.audit.on
	m.follow = true
	m.rebuild()
	if m.audit.on {
		return m.loadAudit()
	}
	return nil
}

// loadAudit reads the audit log, one read at a time.
func (m *Model) loadAudit() tea.Cmd {
	if !m.audit.on || m.audit.loading {
		return nil
	}
	m.audit.loading = true
	return common.RequestAction(common.Action{
		Name:  "reading the audit log",
		Quiet: true,
		Load: func(ctx context.Context, a api.API) (tea.Msg, error) {
			entries, err := a.AuditLog(ctx, api.AuditQuery{Limit: auditLimit})
			// The pane says what failed: a refresh must not toast.
			return AuditLoadedMsg{Entries: entries, Err: err}, nil
		},
	})
}

func (m *Model) auditLoaded(msg AuditLoadedMsg) {
	a := &m.audit
	a.loading = false
	switch {
	case errors.Is(msg.Err, api.ErrNotAvailable):
		a.err, a.entries = "this engine keeps no audit log", nil
	case msg.Err != nil:
		a.err = msg.Err.Error()
	default:
		a.err, a.loaded = "", true
		a.entries = slices.Clone(msg.Entries)
		slices.Reverse(a.entries)
	}
	if a.on {
		m.rebuild()
	}
}

func auditText(e *api.AuditEntry) string {
	return strings.Join([]string{e.Actor, e.Action, e.Target, e.Outcome, e.Reason}, " ")
}

func (m *Model) auditRow(i, width int) string {
	e := &m.audit.entries[m.shown[i]]
	st := m.c.Styles
	outcome := st.Good.Render(e.Outcome)
	// "ok", or "ok: run 13": what the action made.
	if e.Outcome != api.AuditOK && !strings.HasPrefix(e.Outcome, api.AuditOK+":") {
		outcome = st.Error.Render(common.OneLine(e.Outcome))
	}
	if e.Reason != "" {
		outcome += "  " + st.Muted.Render("“"+common.OneLine(e.Reason)+"”")
	}
	return common.Columns(width, []int{14, 8, 9, 18},
		st.Muted.Render(e.At.Format("01-02 15:04:05")), common.OneLine(e.Actor), common.OneLine(e.Action),
		common.OneLine(e.Target), outcome)
}

func (m *Model) auditEntryText(e *api.AuditEntry) string {
	st := m.c.Styles
	wrap := st.NewStyle().Width(max(m.Width-2, 10))
	field := func(k, v string) string { return wrap.Render(st.Label.Render(fmt.Sprintf("%-8s", k)) + v) }
	lines := []string{
		field("time", e.At.Format("2006-01-02 15:04:05.000 MST")),
		// The engine hands out sanitised entries; escaping again costs
		// nothing on clean text and keeps the view safe whatever feeds it.
		field("actor", text.Line(e.Actor)),
		field("action", text.Line(e.Action)),
		field("target", text.Line(e.Target)),
		field("outcome", text.Block(e.Outcome)),
	}
	if e.Reason != "" {
		lines = append(lines, field("reason", text.Block(e.Reason)))
	}
	return strings.Join(lines, "\n")
}

// auditStatus is the pane's first line in audit mode.
func (m *Model) auditStatus() string {
	st := m.c.Styles
	a := &m.audit
	s := st.Info.Render("audit log") + st.Muted.Render(" · ")
	switch {
	case a.err != "":
		return s + st.Error.Render(common.OneLine(a.err))
	case !a.loaded:
		return s + st.Muted.Render("reading…")
	case m.Filter.Active():
		s += fmt.Sprintf("%d of %d actions", len(m.shown), len(a.entries))
	default:
		s += common.Plural(len(a.entries), "action")
	}
	return s + st.Muted.Render(" · A for the logs")
}
