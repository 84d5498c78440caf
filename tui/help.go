package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"

	"github.com/sluice-dev/sluice/views/common"
)

func newHelp(c *common.Common) help.Model {
	h := help.New()
	st := c.Styles
	h.Styles.ShortKey = st.HelpKey
	h.Styles.ShortDesc = st.HelpDesc
	h.Styles.ShortSeparator = st.HelpSep
	h.Styles.FullKey = st.HelpKey
	h.Styles.FullDesc = st.HelpDesc
	h.Styles.FullSeparator = st.HelpSep
	h.Styles.Ellipsis = st.HelpSep
	return h
}

// footerBindings is what the footer may offer: the focused pane's keys,
// then the global ones (only the pane's while it reads text).
func (m *Model) footerBindings() []key.Binding {
	if m.panes[m.focus].Capturing() {
		return m.panes[m.focus].ShortHelp()
	}
	return append(m.panes[m.focus].ShortHelp(), m.c.Keys.GlobalShort()...)
}

// shortHelp is the footer: as many of footerBindings as the width holds,
// lower-priority keys giving way first, so "? help" and "q quit" (and a
// pane's "esc back") always show.
func (m *Model) shortHelp() string {
	m.help.Width = 0 // measured here, never cut by the help model
	one := func(b key.Binding) int { return lipgloss.Width(m.help.ShortHelpView([]key.Binding{b})) }
	sep := lipgloss.Width(m.help.Styles.ShortSeparator.Inline(true).Render(m.help.ShortSeparator))
	return m.help.ShortHelpView(m.c.Keys.Fit(m.footerBindings(), m.width, sep, one))
}

// helpChrome is the rows the `?` dialog spends around its key columns:
// border, padding, title, blank lines and the closing hint.
const helpChrome = 8

// fullHelpView is the `?` screen: the focused pane's groups and the global
// keys, built from the same bindings the keys match on. Columns wrap to
// the width and the rows scroll when the screen is too short for them.
func (m *Model) fullHelpView() string {
	st := m.c.Styles
	body := m.helpBody()
	visible := max(m.lay.body.h-helpChrome, 1)
	lines := strings.Split(body, "\n")
	m.helpOffset = min(max(m.helpOffset, 0), max(len(lines)-visible, 0))
	foot := "? or esc closes"
	if len(lines) > visible {
		end := min(m.helpOffset+visible, len(lines))
		foot = fmt.Sprintf("↑/↓ scroll · lines %d-%d of %d · ", m.helpOffset+1, end, len(lines)) + foot
		lines = lines[m.helpOffset:end]
	}
	title := st.Bold.Render("Keys · " + m.panes[m.focus].Title() + " pane and global")
	return st.Dialog.Render(lipgloss.JoinVertical(lipgloss.Left, title, "", strings.Join(lines, "\n"), "", st.Muted.Render(foot)))
}

// helpBody lays the key groups out as columns, starting a new row of
// columns when the next one would not fit inside the dialog.
func (m *Model) helpBody() string {
	k := m.c.Keys
	groups := append([][]key.Binding{}, m.panes[m.focus].FullHelp()...)
	global := k.Global()
	groups = append(groups, global[:6], global[6:])
	m.help.Width = 0
	// Overlay padding, dialog border and dialog padding.
	inner := max(m.width-2-2-4, 10)
	gap := lipgloss.Width(m.help.FullSeparator)
	var rows, row []string
	width := 0
	flush := func() {
		if len(row) > 0 {
			rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, row...))
		}
		row, width = nil, 0
	}
	for _, g := range groups {
		col := m.help.FullHelpView([][]key.Binding{g})
		if col == "" {
			continue
		}
		w := lipgloss.Width(col)
		if len(row) > 0 && width+gap+w > inner {
			flush()
		}
		if len(row) > 0 {
			col = m.c.Styles.NewStyle().PaddingLeft(gap).Render(col)
			w += gap
		}
		row = append(row, col)
		width += w
	}
	flush()
	return strings.Join(rows, "\n\n")
}
