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
// `sluice console`, styled for the session's own terminal (its TERM,
// NO_COLOR, background), offering only what the session's role may do,
// with the session's user and role at the right of its status line.
func DefaultConsole(ctx context.Context, api api.API, s Session) (tea.Model, func()) {
	m := tui.New(ctx, api, tui.Options{Styles: styles.New(s.Renderer), Refused: RefusedKeys(s.Role), Who: RoleLine(s), Remote: true})
	return m, m.Close
}

// RefusedKeys are the console's action keys a role may not use, with the
// reason access gives for each: the console neither offers them nor asks
// to confirm them.
func RefusedKeys(role access.Role) map[tui.Action]string {
	// A key is refused when the role lacks any action it stands for: u
	// undoes a rejection in the review list and a take-out in an item.
	actions := map[tui.Action][]access.Action{
		tui.ActionTrigger:        {access.ActionTrigger},
		tui.ActionCancel:         {access.ActionCancel},
		tui.ActionRunMeta:        {access.ActionRunMeta},
		tui.ActionApprove:        {access.ActionApprove},
		tui.ActionReject:         {access.ActionReject},
		tui.ActionPauseSensor:    {access.ActionPauseSensor},
		tui.ActionTakeOut:        {access.ActionExclude},
		tui.ActionUndo:           {access.ActionUnreject, access.ActionExclude},
		tui.ActionRerun:          {access.ActionRerun},
		tui.ActionClear:          {access.ActionRerun},
		tui.ActionPauseDAG:       {access.ActionPauseDAG},
		tui.ActionPinDAG:         {access.ActionPinDAG},
		tui.ActionUnpinDAG:       {access.ActionUnpinDAG},
		tui.ActionTriggerConfig:  {access.ActionTrigger},
		tui.ActionBackfill:       {access.ActionBackfill},
		tui.ActionCancelBackfill: {access.ActionCancelBackfill},
		tui.ActionMark:           {access.ActionMark},
		tui.ActionResetOffsets:   {access.ActionResetOffsets},
	}
	refused := map[tui.Action]string{}
	for key, needs := range actions {
		for _, action := range needs {
			if !role.Allows(action) {
				refused[key] = (&access.ForbiddenError{Role: role, Action: action}).Error()
				break
			}
		}
	}
	return refused
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
