package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/views/keys"
)

// refusedKey is an action key the console's role may not use: it is not
// offered (disabled bindings leave the footer and the help) and pressing
// it says why at once, instead of a confirmation that is refused after y.
type refusedKey struct {
	keys   []string
	reason string
}

// restrictKeys disables the action keys role may not use and returns them
// with the reason each is refused. The engine API the console holds is
// restricted as well (access.Restrict): this is what the console offers,
// that is what the engine allows.
func restrictKeys(k *keys.KeyMap, role access.Role) []refusedKey {
	if role == "" {
		role = access.Operator
	}
	actions := []struct {
		binding *key.Binding
		action  access.Action
	}{
		{&k.Trigger, access.ActionTrigger},
		{&k.Cancel, access.ActionCancel},
		{&k.Meta, access.ActionRunMeta},
		{&k.Approve, access.ActionApprove},
		{&k.Reject, access.ActionReject},
		{&k.Pause, access.ActionPauseSensor},
	}
	var refused []refusedKey
	for _, a := range actions {
		if role.Allows(a.action) {
			continue
		}
		refused = append(refused, refusedKey{
			keys:   a.binding.Keys(),
			reason: (&access.ForbiddenError{Role: role, Action: a.action}).Error(),
		})
		a.binding.SetEnabled(false)
	}
	return refused
}

// refusal is the reason msg is refused in the focused pane: the key is one
// of the role's refused action keys and the pane has that action (a viewer
// pressing c where there is nothing to cancel gets what an operator gets).
func (m *Model) refusal(msg tea.KeyMsg) (string, bool) {
	pressed := msg.String()
	for _, r := range m.refused {
		if !contains(r.keys, pressed) {
			continue
		}
		for _, group := range m.panes[m.focus].FullHelp() {
			for _, b := range group {
				if sameKeys(b.Keys(), r.keys) {
					return r.reason, true
				}
			}
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sameKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
