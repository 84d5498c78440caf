package dagtree

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// TriggerFormClosedMsg closes the trigger form of DAG once its run was
// queued (common.Action.Done): refused or declined, the form stays open
// with what was typed.
type TriggerFormClosedMsg struct{ DAG string }

// triggerForm is T on a DAG: a text area holding the run config, prefilled
// with the DAG's last one, checked before it is offered to the engine.
type triggerForm struct {
	dag  string
	area textarea.Model
	// from is the run the text came from, 0 for the empty object.
	from int64
	err  string
}

func (m *Model) openTriggerForm(name string) tea.Cmd {
	text, from := lastRunConfig(m.snap, name)
	ta := textarea.New()
	ta.ShowLineNumbers = true
	ta.Prompt = ""
	ta.CharLimit = 0
	ta.MaxHeight = 0
	// A steady cursor: a blinking one redraws the screen twice a second
	// and makes every golden frame a coin toss.
	ta.Cursor.SetMode(cursor.CursorStatic)
	ta.SetValue(text)
	ta.Focus()
	m.triggerForm = &triggerForm{dag: name, area: ta, from: from}
	m.sizeTriggerForm()
	return nil
}

// messageLines is the room under the text area for the help or the
// error, wrapped: the error's position must not be cut off.
const messageLines = 3

// sizeTriggerForm gives the text area the pane less the header and the
// message.
func (m *Model) sizeTriggerForm() {
	f := m.triggerForm
	if f == nil {
		return
	}
	f.area.SetWidth(max(m.Width, 10))
	f.area.SetHeight(max(m.Height-1-messageLines, 1))
}

func (m *Model) triggerFormKey(msg tea.KeyMsg) tea.Cmd {
	k, f := m.c.Keys, m.triggerForm
	switch {
	case key.Matches(msg, k.Back):
		m.triggerForm = nil
		return nil
	case msg.Type == tea.KeyCtrlO && m.c.Editor != "":
		return m.editRunConfig()
	case key.Matches(msg, k.Submit):
		cfg, err := parseRunConfig(f.area.Value())
		if err != nil {
			f.err = err.Error()
			return nil
		}
		f.err = ""
		return triggerWithConfig(f.dag, cfg)
	}
	var cmd tea.Cmd
	f.area, cmd = f.area.Update(msg)
	return cmd
}

func triggerWithConfig(name string, cfg json.RawMessage) tea.Cmd {
	prompt := fmt.Sprintf("Trigger a run of %s with this run config?", name)
	if cfg == nil {
		prompt = fmt.Sprintf("Trigger a run of %s with no run config?", name)
	}
	return common.RequestAction(common.Action{
		Name:   "triggering " + name,
		Prompt: prompt,
		Done:   TriggerFormClosedMsg{DAG: name},
		Do: func(ctx context.Context, a api.API) (string, error) {
			// The engine's error names the DAG (api.API).
			id, err := a.Trigger(ctx, name, cfg)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("queued run #%d of %s", id, name), nil
		},
	})
}

func (m *Model) triggerFormView() string {
	st := m.c.Styles
	f := m.triggerForm
	from := "no earlier run config: {}"
	if f.from != 0 {
		from = fmt.Sprintf("from run #%d", f.from)
	}
	head := st.Bold.Render("Trigger "+f.dag) + "  " + st.Muted.Render("run config, a JSON object · "+from)
	hint := "enter new line · ctrl+s trigger · esc cancel"
	if m.c.Editor != "" {
		hint = "enter new line · ctrl+o editor · ctrl+s trigger · esc cancel"
	}
	msg := st.Muted.Render(hint)
	if f.err != "" {
		msg = st.Error.Render("✗ " + f.err)
	}
	wrapped := strings.Split(st.NewStyle().Width(max(m.Width, 1)).Render(msg), "\n")
	wrapped = wrapped[:min(len(wrapped), messageLines-1)]
	return common.Lines(common.Truncate(head, m.Width)+"\n"+f.area.View()+"\n\n"+strings.Join(wrapped, "\n"), m.Width, m.Height)
}

// formCancel is esc in a form: it closes the form, nothing is sent.
var formCancel = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))

func (m *Model) triggerFormHelp() []key.Binding {
	submit := key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "trigger"))
	if m.c.Editor != "" {
		editor := key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "editor"))
		return []key.Binding{submit, editor, formCancel}
	}
	return []key.Binding{submit, formCancel}
}
