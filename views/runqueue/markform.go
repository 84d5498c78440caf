package runqueue

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// MarkFormClosedMsg closes the mark form of a run once it was marked.
type MarkFormClosedMsg struct{ Run int64 }

// markStates are what a run may be marked.
var markStates = []api.RunState{api.RunSuccess, api.RunFailed}

// markForm is M on a finished run: the state to record and why.
type markForm struct {
	run   int64
	dag   string
	was   api.RunState
	state int // position in markStates
	// reasonFocused: the keys go to the reason, else to the state.
	reasonFocused bool
	reason        textinput.Model
}

func (m *Model) openMarkForm(r *api.Run) tea.Cmd {
	if !r.State.Finished() {
		return common.Toast(fmt.Sprintf("run #%d is %s: mark it once it finished", r.ID, r.State), true)
	}
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "optional"
	in.CharLimit = 200
	in.Cursor.SetMode(cursor.CursorStatic)
	f := &markForm{run: r.ID, dag: r.DAG, was: r.State, reason: in}
	// The state offered first is the other one: a failed run is marked
	// success far more often than a succeeded one failed.
	if r.State == api.RunSuccess {
		f.state = 1
	}
	m.markForm = f
	return nil
}

func (m *Model) markFormKey(msg tea.KeyMsg) tea.Cmd {
	k, f := m.c.Keys, m.markForm
	switch {
	case key.Matches(msg, k.Back):
		m.markForm = nil
		return nil
	case msg.Type == tea.KeyTab || msg.Type == tea.KeyShiftTab || msg.Type == tea.KeyUp || msg.Type == tea.KeyDown:
		f.reasonFocused = !f.reasonFocused
		if f.reasonFocused {
			f.reason.Focus()
		} else {
			f.reason.Blur()
		}
		return nil
	case msg.Type == tea.KeyEnter || key.Matches(msg, k.Submit):
		return markRun(f.run, f.dag, markStates[f.state], strings.TrimSpace(f.reason.Value()))
	}
	if f.reasonFocused {
		var cmd tea.Cmd
		f.reason, cmd = f.reason.Update(msg)
		return cmd
	}
	switch msg.Type {
	case tea.KeyLeft, tea.KeyRight, tea.KeySpace:
		f.state = (f.state + 1) % len(markStates)
	}
	return nil
}

func markRun(id int64, dag string, state api.RunState, reason string) tea.Cmd {
	prompt := fmt.Sprintf("Mark run #%d of %s as %s?", id, dag, state)
	if reason != "" {
		prompt += "\nReason: " + reason
	}
	return common.RequestAction(common.Action{
		Name:   fmt.Sprintf("marking run #%d", id),
		Prompt: prompt,
		Done:   MarkFormClosedMsg{Run: id},
		Do: func(ctx context.Context, a api.API) (string, error) {
			if err := a.Mark(ctx, id, "", state, reason); err != nil {
				return "", fmt.Errorf("marking run #%d: %w", id, err)
			}
			return fmt.Sprintf("marked run #%d of %s %s", id, dag, state), nil
		},
	})
}

func (m *Model) markFormView() string {
	st := m.c.Styles
	f := m.markForm
	label := func(focused bool, s string) string {
		if focused {
			return st.Accent.Render(fmt.Sprintf("› %-8s", s))
		}
		return fmt.Sprintf("  %-8s", s)
	}
	var choices []string
	for i, s := range markStates {
		if i == f.state {
			choices = append(choices, st.ButtonActive.Render("> "+string(s)+" <"))
		} else {
			choices = append(choices, st.Button.Render("  "+string(s)+"  "))
		}
	}
	f.reason.Width = max(m.Width-14, 10)
	lines := []string{
		st.Bold.Render(fmt.Sprintf("Mark run #%d of %s", f.run, f.dag)) + "  " + st.Muted.Render("it "+string(f.was)),
		"",
		label(!f.reasonFocused, "state") + strings.Join(choices, " "),
		label(f.reasonFocused, "reason") + f.reason.View(),
		"",
		st.Muted.Render("←/→ state · tab reason · enter mark · esc cancel"),
	}
	for i, l := range lines {
		lines[i] = common.Truncate(l, m.Width)
	}
	return common.Lines(strings.Join(lines, "\n"), m.Width, m.Height)
}

func (m *Model) markFormHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "reason")),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "mark")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}
