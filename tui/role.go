package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/views/keys"
)

// Action is an action key of the console, for Options.Refused.
type Action int

// The console's action keys.
const (
	ActionTrigger Action = iota
	ActionCancel
	ActionRunMeta
	ActionApprove
	ActionReject
	ActionPauseSensor
	// ActionTakeOut is space in an open deprecation (take a model out, put
	// it back); ActionUndo is u (undo the last take-out, or rejection).
	ActionTakeOut
	ActionUndo
	ActionRerun
	ActionClear
	ActionPauseDAG
	ActionPinDAG
	ActionUnpinDAG
	// ActionTriggerConfig is T (trigger with a run config), ActionBackfill
	// B, ActionCancelBackfill c on a backfill's row, ActionMark M.
	ActionTriggerConfig
	ActionBackfill
	ActionCancelBackfill
	ActionMark
	ActionResetOffsets
	actionCount // keep last
)

// refusedKey is an action key the console's role may not use: it is not
// offered (disabled bindings leave the footer and the help) and pressing
// it says why at once, instead of a confirmation that is refused after y.
type refusedKey struct {
	keys []string
	// help tells bindings of one key apart: p pauses a sensor in the
	// Kafka pane and pins a version in the DAG versions.
	help   key.Help
	reason string
}

// restrictKeys disables the refused action keys and returns them with
// their reasons. The engine API the console holds should be restricted
// as well (access.Restrict): this is what the console offers, that is
// what the engine allows.
func restrictKeys(k *keys.KeyMap, refused map[Action]string) []refusedKey {
	bindings := actionBindings(k)
	var out []refusedKey
	for a := ActionTrigger; a < actionCount; a++ {
		reason, ok := refused[a]
		if !ok {
			continue
		}
		b := bindings[a]
		out = append(out, refusedKey{keys: b.Keys(), help: b.Help(), reason: reason})
		b.SetEnabled(false)
	}
	return out
}

// Actions lists every action key of the console: a test that must cover
// each (a role's refusals) ranges over it rather than a list of its own.
func Actions() []Action {
	out := make([]Action, 0, actionCount)
	for a := ActionTrigger; a < actionCount; a++ {
		out = append(out, a)
	}
	return out
}

// Binding is action a's key binding in k: its keys and help.
func (a Action) Binding(k *keys.KeyMap) key.Binding { return *actionBindings(k)[a] }

// actionBindings are the bindings of k each action key stands for.
func actionBindings(k *keys.KeyMap) map[Action]*key.Binding {
	return map[Action]*key.Binding{
		ActionTrigger:        &k.Trigger,
		ActionCancel:         &k.Cancel,
		ActionRunMeta:        &k.Meta,
		ActionApprove:        &k.Approve,
		ActionReject:         &k.Reject,
		ActionPauseSensor:    &k.Pause,
		ActionRerun:          &k.Rerun,
		ActionClear:          &k.Clear,
		ActionPauseDAG:       &k.PauseDAG,
		ActionPinDAG:         &k.Pin,
		ActionUnpinDAG:       &k.Unpin,
		ActionTriggerConfig:  &k.TriggerConfig,
		ActionBackfill:       &k.Backfill,
		ActionCancelBackfill: &k.CancelBackfill,
		ActionMark:           &k.Mark,
		ActionResetOffsets:   &k.ResetOffsets,
		ActionTakeOut:        &k.TakeOut,
		ActionUndo:           &k.Undo,
	}
}

// refusal is the reason msg is refused in the focused pane: the key is one
// of the role's refused action keys and the pane has that action (a viewer
// pressing c where there is nothing to cancel gets what an operator gets).
// What the pane offers here (its footer) comes first: c on a backfill's
// row is "cancel backfill", not the "cancel run" of the rows below. A pane
// may copy a binding under its own help ("undo reject" from u "undo"):
// the copy of a refused binding is disabled too, and refused by its keys
// once no binding matches exactly (help tells p-pause from p-pin).
func (m *Model) refusal(msg tea.KeyMsg) (string, bool) {
	pressed := msg.String()
	pane := m.panes[m.focus]
	groups := append([][]key.Binding{pane.ShortHelp()}, pane.FullHelp()...)
	for _, copied := range []bool{false, true} {
		for _, group := range groups {
			for _, b := range group {
				for _, r := range m.refused {
					if !contains(r.keys, pressed) || !sameKeys(b.Keys(), r.keys) {
						continue
					}
					if b.Help() == r.help || copied && !b.Enabled() {
						return r.reason, true
					}
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
