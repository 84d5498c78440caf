package common

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
)

// SnapshotUpdatedMsg carries a fresh snapshot to every pane. Topics says
// which parts changed since the previous one; panes skip rebuilding what did
// not change. The first snapshot has every topic set.
type SnapshotUpdatedMsg struct {
	Snap   *api.Snapshot
	Topics api.Topic
}

// AllTopics is every topic at once, for the first snapshot.
const AllTopics = api.TopicDAGs | api.TopicRuns | api.TopicSensors |
	api.TopicReviews | api.TopicMeta | api.TopicLogs

// ClockTickedMsg is sent once a second so elapsed times and "ago" labels move
// even when the engine is quiet.
type ClockTickedMsg struct{ At time.Time }

// Action is something a pane asks the engine to do. The root model confirms
// it (when Prompt is set), runs Do off the UI goroutine with a spinner, and
// shows the result or the error as a toast.
type Action struct {
	// Name describes the work in the spinner: "triggering daily_etl".
	Name string
	// Prompt, when set, is asked in a confirmation dialog first.
	Prompt string
	// Destructive actions default to No in the dialog. Every dialog
	// defaults to No today; the flag is kept so the dialog can say so.
	Destructive bool
	// Do performs the action and returns the text of the result toast.
	Do func(ctx context.Context, api api.API) (string, error)
	// Load, instead of Do, reads something for the pane: its message goes
	// to the panes (no toast unless it fails).
	Load func(ctx context.Context, api api.API) (tea.Msg, error)
	// Input, when set with Prompt, adds an optional one-line text field
	// to the dialog, labelled Input; DoInput then performs the action
	// with what was typed (maybe nothing) in place of Do.
	Input   string
	DoInput func(ctx context.Context, api api.API, input string) (string, error)
	// Done, when set, goes to the panes once Do succeeded: a form that
	// asked for the action closes then, and stays open (its text kept)
	// when the operator says No or the engine refuses.
	Done tea.Msg
	// Quiet actions (a pane refreshing what it shows) run without the
	// spinner.
	Quiet bool
}

// ActionRequestedMsg asks the root model to run an action.
type ActionRequestedMsg struct{ Action Action }

// RequestAction returns a command that asks the root model to run a.
func RequestAction(a Action) tea.Cmd {
	return func() tea.Msg { return ActionRequestedMsg{Action: a} }
}

// ToastRequestedMsg asks the root model to show a short message.
type ToastRequestedMsg struct {
	Text  string
	Error bool
}

// Toast returns a command that shows text as a toast.
func Toast(text string, isError bool) tea.Cmd {
	return func() tea.Msg { return ToastRequestedMsg{Text: text, Error: isError} }
}

// RunOpenRequestedMsg asks the root model to show a run: the run queue
// takes the focus and opens the run's details (a tick's run in the Kafka
// pane, followed to the run).
type RunOpenRequestedMsg struct{ Run int64 }

// OpenRun returns a command that asks to show run id.
func OpenRun(id int64) tea.Cmd {
	return func() tea.Msg { return RunOpenRequestedMsg{Run: id} }
}
