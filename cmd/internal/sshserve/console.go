package sshserve

import (
	"context"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/tui"
	"github.com/sluice-dev/sluice/views/styles"
)

// DefaultConsole is the console a session gets: the same root model as
// `sluice console`, with NO_COLOR read from the session's environment, and
// the session's user and role at the right of its status line.
func DefaultConsole(ctx context.Context, api api.API, s Session) (tea.Model, func()) {
	noColor := styles.NoColorRequested(s.Getenv)
	// The session's user is the actor of what it does (a paused sensor
	// says who paused it).
	m := tui.New(apiActor(ctx, s.User), api, tui.Options{Styles: styles.New(noColor), Role: RoleLine(s)})
	return m, m.Close
}

// RoleLine is what the session's status line says of who is looking:
// "alice · viewer (read only)". What a viewer may not do, the console says
// when it refuses.
func RoleLine(s Session) string {
	who := s.User
	if s.KeyComment != "" && s.KeyComment != s.User {
		who += " (" + s.KeyComment + ")"
	}
	if s.Role == access.Operator {
		return who + " · operator"
	}
	return who + " · " + string(s.Role) + " (read only)"
}

// apiActor is api.WithActor; the parameter named api shadows the package
// in DefaultConsole.
func apiActor(ctx context.Context, who string) context.Context { return api.WithActor(ctx, who) }
