// Package logs is the console's log pane: the engine's slog records (level,
// time, message, attributes), newest at the bottom, followed like tail -f
// while the cursor sits on the last line, filterable live.
package logs

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// Model is the log pane.
type Model struct {
	common.ListPane
	c      *common.Common
	logs   []api.LogRecord
	shown  []int // indexes into logs that pass the filter
	follow bool
	detail bool
	// audit, when on, lists the audit log instead of the records.
	audit audit
}

var _ common.Component = (*Model)(nil)

// New returns an empty log pane that follows new records.
func New(c *common.Common) *Model {
	return &Model{ListPane: common.NewListPane(c), c: c, follow: true}
}

// Title implements common.Component.
func (m *Model) Title() string { return "Logs" }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.ListPane.SetSize(width, height)
	if m.follow {
		m.List.Select(m.List.Len() - 1)
	}
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		if msg.Topics&api.TopicLogs != 0 || m.logs == nil {
			m.logs = msg.Snap.Logs
			if !m.audit.on {
				m.rebuild()
			}
		}
		// Every action is audited, whichever part of the snapshot it
		// changed: any change but new log lines may have added an entry.
		if msg.Topics&^api.TopicLogs != 0 {
			return m.loadAudit()
		}
	case AuditLoadedMsg:
		m.auditLoaded(msg)
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.Filter.Editing() {
		return m.Filter.EditKey(msg, m.rebuild, m.Relayout)
	}
	if m.detail {
		if key.Matches(msg, k.Back) {
			m.detail = false
		} else {
			m.Pager.Update(msg)
		}
		return nil
	}
	if m.List.Update(msg, k) {
		m.follow = m.List.AtBottom()
		return nil
	}
	if handled, cmd := m.Filter.ListKey(msg, m.rebuild, m.Relayout); handled {
		return cmd
	}
	switch {
	case key.Matches(msg, k.Audit):
		return m.toggleAudit()
	case key.Matches(msg, k.Follow):
		m.follow = true
		m.List.Select(m.List.Len() - 1)
	case key.Matches(msg, k.Enter):
		if i := m.List.Cursor(); i >= 0 && i < len(m.shown) {
			m.detail = true
			if m.audit.on {
				m.Pager.SetContent(m.auditEntryText(&m.audit.entries[m.shown[i]]))
			} else {
				m.Pager.SetContent(m.recordText(m.logs[m.shown[i]]))
			}
			m.Pager.GotoTop()
		}
	}
	return nil
}

func (m *Model) rebuild() {
	match := m.Filter.Matcher()
	m.shown = m.shown[:0]
	if m.audit.on {
		for i := range m.audit.entries {
			if match == nil || match(auditText(&m.audit.entries[i])) {
				m.shown = append(m.shown, i)
			}
		}
		m.List.SetLen(len(m.shown))
		if m.follow {
			m.List.Select(len(m.shown) - 1)
		}
		return
	}
	for i := range m.logs {
		r := &m.logs[i]
		if match == nil || match(levelText(r.Level)+" "+r.Msg+" "+r.Attrs) {
			m.shown = append(m.shown, i)
		}
	}
	m.List.SetLen(len(m.shown))
	if m.follow {
		m.List.Select(len(m.shown) - 1)
	}
}

// View implements common.Component.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.detail {
		title := "log record"
		if m.audit.on {
			title = "audit entry"
		}
		return common.PadRight(st.Bold.Render(title), m.Width) + "\n" + m.Pager.View()
	}
	var b strings.Builder
	status := fmt.Sprintf("%d records", len(m.logs))
	if m.Filter.Active() {
		status = fmt.Sprintf("%d of %d records", len(m.shown), len(m.logs))
	}
	if m.follow {
		status += st.Muted.Render(" · ") + st.Info.Render("following")
	} else {
		status += st.Muted.Render(" · f to follow")
	}
	empty, render := "no log records yet", m.renderRow
	if m.audit.on {
		status, empty, render = m.auditStatus(), "no action recorded yet", m.auditRow
	}
	b.WriteString(m.Filter.ViewUnder(status, m.Width))
	b.WriteString("\n")
	if len(m.shown) == 0 {
		if m.Filter.Active() {
			empty = "nothing matches the filter"
		}
		b.WriteString(common.Lines(st.Muted.Render("  "+empty), m.Width, m.List.Height()))
		return b.String()
	}
	b.WriteString(common.RenderList(m.c, &m.List, m.Width, render))
	return b.String()
}

func (m *Model) renderRow(i, width int) string {
	r := &m.logs[m.shown[i]]
	st := m.c.Styles
	s := st.Muted.Render(r.Time.Format("15:04:05.000")) + " " + levelStyle(m.c, r.Level).Render(fmt.Sprintf("%-5s", levelText(r.Level))) + " " + common.OneLine(r.Msg)
	if r.Attrs != "" {
		s += "  " + st.Muted.Render(common.OneLine(r.Attrs))
	}
	return common.Truncate(s, width)
}

func (m *Model) recordText(r api.LogRecord) string {
	st := m.c.Styles
	wrap := st.NewStyle().Width(max(m.Width-2, 10))
	var attrs []string
	for _, f := range splitLogfmt(r.Attrs) {
		k, v := fieldLine(f)
		if k == "" {
			attrs = append(attrs, wrap.Render(v))
			continue
		}
		attrs = append(attrs, wrap.Render(st.Label.Render(k+"=")+v))
	}
	return fmt.Sprintf("%s %s\n%s %s\n\n%s\n\n%s",
		st.Label.Render("time "), r.Time.Format("2006-01-02 15:04:05.000"),
		st.Label.Render("level"), levelStyle(m.c, r.Level).Render(levelText(r.Level)),
		wrap.Render(r.Msg), strings.Join(attrs, "\n"))
}

func levelText(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

func levelStyle(c *common.Common, l slog.Level) lipgloss.Style {
	switch {
	case l >= slog.LevelError:
		return c.Styles.Error
	case l >= slog.LevelWarn:
		return c.Styles.Warn
	case l >= slog.LevelInfo:
		return c.Styles.Info
	}
	return c.Styles.Muted
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	if m.Filter.Editing() {
		return m.Filter.EditingHelp()
	}
	if m.detail {
		return []key.Binding{k.Up, k.Down, k.Back}
	}
	return []key.Binding{k.Up, k.Down, k.Filter, k.Follow, k.Enter, m.auditKey()}
}

// auditKey is A, saying where it leads.
func (m *Model) auditKey() key.Binding {
	b := m.c.Keys.Audit
	if m.audit.on {
		b.SetHelp(b.Help().Key, "log records")
	}
	return b
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{k.Navigation(), {k.Filter, k.Follow, k.Enter, k.Back, m.auditKey()}}
}
