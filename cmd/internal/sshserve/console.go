package sshserve

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/tui"
	"github.com/sluice-dev/sluice/views/styles"
)

// DefaultConsole is the console a session gets: the same root model as
// `sluice console`, with NO_COLOR read from the session's environment, and
// a line under it naming the session's user and role.
func DefaultConsole(ctx context.Context, api engine.API, s Session) (tea.Model, func()) {
	noColor := styles.NoColorRequested(s.Getenv)
	m := tui.New(ctx, api, tui.Options{Styles: styles.New(noColor)})
	return &roleBar{inner: m, text: RoleLine(s)}, m.Close
}

// RoleLine is what the session's status line says of who is looking:
// "alice · viewer (read only)".
func RoleLine(s Session) string {
	who := s.User
	if s.KeyComment != "" && s.KeyComment != s.User {
		who += " (" + s.KeyComment + ")"
	}
	if s.Role == access.Operator {
		return who + " · operator"
	}
	return who + " · " + string(s.Role) + " (read only: trigger, cancel, approve, reject and pause are refused)"
}

// roleBar shows the session's role under the console. The console keeps
// every row but the last; the role needs a line of its own until the
// console's status bar can carry it (see the report: tui.Options.Role).
type roleBar struct {
	inner tea.Model
	text  string
	width int
}

var roleStyle = lipgloss.NewStyle().Faint(true)

func (r *roleBar) Init() tea.Cmd { return r.inner.Init() }

func (r *roleBar) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		r.width = ws.Width
		msg = tea.WindowSizeMsg{Width: ws.Width, Height: max(ws.Height-1, 1)}
	}
	var cmd tea.Cmd
	r.inner, cmd = r.inner.Update(msg)
	return r, cmd
}

func (r *roleBar) View() string {
	v := r.inner.View()
	if v == "" {
		return v // quitting, or no size yet
	}
	line := r.text
	if r.width > 0 {
		line = ansi.Truncate(line, r.width, "…")
	}
	return v + "\n" + roleStyle.Render(line)
}
