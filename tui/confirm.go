package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// confirmDialog asks yes or no before something that cannot be undone.
// No is selected when it opens: enter on a reflex never destroys anything.
type confirmDialog struct {
	prompt string
	yes    bool
	onYes  func() tea.Cmd
}

func newConfirm(prompt string, onYes func() tea.Cmd) *confirmDialog {
	return &confirmDialog{prompt: prompt, onYes: onYes}
}

func (m *Model) confirmKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	d := m.confirm
	switch {
	case key.Matches(msg, k.Yes):
		m.confirm = nil
		return d.onYes()
	case key.Matches(msg, k.No):
		m.confirm = nil
	case key.Matches(msg, k.Switch):
		d.yes = !d.yes
	case key.Matches(msg, k.Choose):
		m.confirm = nil
		if d.yes {
			return d.onYes()
		}
	case msg.Type == tea.KeyCtrlC:
		m.confirm = nil
	}
	return nil
}

func (m *Model) confirmView() string {
	st := m.c.Styles
	d := m.confirm
	width := min(60, max(m.width-8, 20))
	yes, no := st.Button.Render("  Yes  "), st.ButtonActive.Render("> No <")
	if d.yes {
		yes, no = st.ButtonActive.Render("> Yes <"), st.Button.Render("  No  ")
	}
	r := st.Renderer()
	body := st.NewStyle().Width(width).Render(d.prompt)
	buttons := r.PlaceHorizontal(width, lipgloss.Center, yes+"    "+no)
	hint := r.PlaceHorizontal(width, lipgloss.Center, st.Muted.Render("y yes · n/esc no · ←/→ switch · enter choose"))
	return st.Dialog.Render(body + "\n\n" + buttons + "\n\n" + hint)
}
