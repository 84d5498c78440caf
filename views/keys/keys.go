// Package keys is the console's one keymap (gh-dash style): every binding is
// declared here with its help text, panes pick the ones they use, and the
// help footer is generated from them, so help is never out of date.
package keys

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds every binding of the console.
type KeyMap struct {
	// Global: handled by the root model before the focused pane.
	Quit     key.Binding
	Help     key.Binding
	NextPane key.Binding
	PrevPane key.Binding
	Pane1    key.Binding
	Pane2    key.Binding
	Pane3    key.Binding
	Pane4    key.Binding
	Logs     key.Binding
	Rescan   key.Binding
	Zoom     key.Binding

	// Navigation inside a pane.
	Up       key.Binding
	Down     key.Binding
	Top      key.Binding
	Bottom   key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Filter   key.Binding
	Enter    key.Binding
	Back     key.Binding
	Toggle   key.Binding
	Follow   key.Binding
	// CollapseAll folds every DAG of a tree (sources and folders open);
	// ExpandAll opens everything.
	CollapseAll key.Binding
	ExpandAll   key.Binding

	// Actions on the selection.
	Trigger key.Binding
	Cancel  key.Binding
	Meta    key.Binding
	Approve key.Binding
	Reject  key.Binding
	Pause   key.Binding
	// Operator actions (issue 15).
	Rerun    key.Binding
	Clear    key.Binding
	PauseDAG key.Binding
	Versions key.Binding
	Pin      key.Binding
	Unpin    key.Binding
	// TriggerConfig triggers with a run config typed in a form; Backfill
	// opens the backfill form of a scheduled DAG; CancelBackfill cancels
	// a backfill as a whole from its row in the run queue; Mark sets a
	// finished run's state; Audit shows the audit log in the logs pane.
	TriggerConfig  key.Binding
	Backfill       key.Binding
	CancelBackfill key.Binding
	Mark           key.Binding
	Audit          key.Binding
	// Submit sends a form (a text area takes enter for new lines).
	Submit key.Binding
	// ResetOffsets opens the offset reset form of a sensor (Kafka pane).
	ResetOffsets key.Binding
	// ByTrigger cycles the run list through trigger filters.
	ByTrigger key.Binding

	// Review pane: taking a model out of a staged deprecation (space) and
	// undoing (u: the last take-out in an open item, the last rejection in
	// the list). Their own bindings, not Toggle's: a viewer may fold DAGs
	// but not change a review.
	TakeOut key.Binding
	Undo    key.Binding

	// Review pane: moving through a diff's files, the analysis view.
	NextFile key.Binding
	PrevFile key.Binding
	Analysis key.Binding

	// Confirmation dialog.
	Yes    key.Binding
	No     key.Binding
	Switch key.Binding
	Choose key.Binding
}

// Default returns the console's bindings (k9s / lazygit / gh-dash habits).
func Default() *KeyMap {
	return &KeyMap{
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		NextPane: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev pane")),
		Pane1:    key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "DAGs")),
		Pane2:    key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "runs")),
		Pane3:    key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "kafka")),
		Pane4:    key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "review")),
		Logs:     key.NewBinding(key.WithKeys("5", "L"), key.WithHelp("5/L", "logs")),
		Rescan:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rescan")),
		Zoom:     key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom pane")),

		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Enter:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Toggle:   key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "fold")),
		Follow:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow")),

		CollapseAll: key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "collapse all")),
		ExpandAll:   key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "expand all")),

		Trigger:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "trigger")),
		Cancel:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel run")),
		ByTrigger: key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "by trigger")),
		Meta:      key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "run metapipeline")),
		Approve:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
		Reject:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "reject")),
		Pause:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause/resume")),

		Rerun:    key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "re-run")),
		Clear:    key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "clear from failed")),
		PauseDAG: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "pause dag")),
		Versions: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "versions")),
		Pin:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pin version")),
		Unpin:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "unpin")),

		TriggerConfig:  key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "trigger with config")),
		Backfill:       key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "backfill")),
		CancelBackfill: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel backfill")),
		Mark:           key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "mark run")),
		Audit:          key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "audit log")),
		Submit:         key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit")),
		ResetOffsets:   key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "reset offsets")),

		TakeOut: key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "take out/put back")),
		Undo:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo")),

		NextFile: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next file")),
		PrevFile: key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "prev file")),
		Analysis: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "analysis")),

		Yes:    key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:     key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no")),
		Switch: key.NewBinding(key.WithKeys("left", "right", "h", "l", "tab", "shift+tab"), key.WithHelp("←/→", "switch")),
		Choose: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),
	}
}

// Global returns the bindings the root model handles, for the help views.
func (k *KeyMap) Global() []key.Binding {
	return []key.Binding{k.NextPane, k.PrevPane, k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Logs, k.Zoom, k.Rescan, k.Help, k.Quit}
}

// GlobalShort is the part of Global shown in the one-line footer.
func (k *KeyMap) GlobalShort() []key.Binding {
	return []key.Binding{k.NextPane, k.Rescan, k.Help, k.Quit}
}

// Navigation returns the list movement bindings every list pane shares.
func (k *KeyMap) Navigation() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown}
}
