package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// confirmDialog asks yes or no before something that cannot be undone.
// No is selected when it opens: enter on a reflex never destroys anything.
// It may carry an optional one-line text field (a rejection's reason),
// focused first: enter there moves to the buttons, still on No.
type confirmDialog struct {
	prompt string
	yes    bool
	onYes  func() tea.Cmd

	label   string // the text field's label; "" without one
	input   textinput.Model
	editing bool // the text field has the keys
}

// maxInputLen bounds the text field: a reason is one line.
const maxInputLen = 200

func newConfirm(prompt string, onYes func() tea.Cmd) *confirmDialog {
	return &confirmDialog{prompt: prompt, onYes: onYes}
}

// withInput adds the text field, labelled, focused.
func (d *confirmDialog) withInput(label string) {
	ti := textinput.New()
	ti.Prompt = "> "
	ti.Placeholder = "optional"
	ti.CharLimit = maxInputLen
	// A steady cursor: a blinking one would redraw the screen (and make
	// every golden frame a coin toss) twice a second.
	ti.Cursor.SetMode(cursor.CursorStatic)
	ti.Focus()
	d.label, d.input, d.editing = label, ti, true
}

func (m *Model) confirmKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	d := m.confirm
	if d.editing {
		switch msg.Type {
		case tea.KeyEnter, tea.KeyTab:
			d.editing = false
			d.input.Blur()
		case tea.KeyEsc, tea.KeyCtrlC:
			m.confirm = nil
		default:
			var cmd tea.Cmd
			d.input, cmd = d.input.Update(msg)
			return cmd
		}
		return nil
	}
	switch {
	case d.label != "" && msg.Type == tea.KeyUp:
		d.editing = true
		d.input.Focus()
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
	body := st.NewStyle().Width(width).Render(wrapOnSpaces(d.prompt, width))
	if d.label != "" {
		d.input.Width = max(width-3, 1)
		body += "\n\n" + st.Label.Render(d.label) + "\n" + d.input.View()
	}
	buttons := r.PlaceHorizontal(width, lipgloss.Center, yes+"    "+no)
	hintText := "y yes · n/esc no · ←/→ switch · enter choose"
	switch {
	case d.editing:
		hintText = "type · enter to the buttons · esc no"
	case d.label != "":
		hintText = "y yes · n/esc no · ↑ edit · enter choose"
	}
	hint := r.PlaceHorizontal(width, lipgloss.Center, st.Muted.Render(hintText))
	return st.Dialog.Render(body + "\n\n" + buttons + "\n\n" + hint)
}

// wrapOnSpaces wraps text to width at spaces only: a branch, a path or a
// URL is never broken at a hyphen or a slash, where a reader would take the
// break for part of the name. A word wider than the line gets a line of its
// own, cut with "…". Newlines in text are kept.
func wrapOnSpaces(text string, width int) string {
	width = max(width, 1)
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			if ansi.StringWidth(word) > width {
				word = ansi.Truncate(word, width, "…")
			}
			switch {
			case line == "":
				line = word
			case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= width:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
