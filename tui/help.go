package tui

import (
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

// shortHelp is the footer: the focused pane's keys, then the global ones.
func (m *Model) shortHelp() string {
	bindings := append(m.panes[m.focus].ShortHelp(), m.c.Keys.GlobalShort()...)
	if m.panes[m.focus].Capturing() {
		bindings = m.panes[m.focus].ShortHelp()
	}
	m.help.Width = m.width
	return m.help.ShortHelpView(bindings)
}

// fullHelpView is the `?` screen: the focused pane's groups and the global
// keys, built from the same bindings the keys match on.
func (m *Model) fullHelpView() string {
	st := m.c.Styles
	k := m.c.Keys
	groups := append([][]key.Binding{}, m.panes[m.focus].FullHelp()...)
	global := k.Global()
	groups = append(groups, global[:6], global[6:])
	m.help.Width = m.width - 6
	title := st.Bold.Render("Keys · " + m.panes[m.focus].Title() + " pane and global")
	body := m.help.FullHelpView(groups)
	foot := st.Muted.Render("? or esc closes")
	return st.Dialog.Render(lipgloss.JoinVertical(lipgloss.Left, title, "", body, "", foot))
}
