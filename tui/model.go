// Package tui is the console's root Bubble Tea model (pug's pane manager,
// soft-serve's common contract): it owns the panes, the layout, focus, the
// global keys, the help footer, confirmation dialogs, toasts and the spinner,
// and it is the one place that relays the engine's events into the program.
package tui

import (
	"context"
	"time"

	"github.com/sluice-dev/sluice/engine/clock"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/dagtree"
	"github.com/sluice-dev/sluice/views/kafkalag"
	"github.com/sluice-dev/sluice/views/logs"
	"github.com/sluice-dev/sluice/views/review"
	"github.com/sluice-dev/sluice/views/runqueue"
	"github.com/sluice-dev/sluice/views/styles"
)

// Pane positions: the first four share the screen on a wide terminal, the
// logs pane sits in a strip below them.
const (
	PaneDAGs = iota
	PaneRuns
	PaneKafka
	PaneReview
	PaneLogs
	paneCount
)

// Options tune the console.
type Options struct {
	// Styles is the theme, built for the terminal the console draws on; nil
	// is the process's own terminal (lipgloss's default renderer, which
	// honours NO_COLOR).
	Styles *styles.Styles
	// Clock is the console's clock; nil is the real one. Tests pin it.
	Clock clock.Clock
	// ClockInterval is how often elapsed times re-render with no engine
	// change (default 1s; negative disables, which tests use).
	ClockInterval time.Duration
	// ActionTimeout bounds one engine call made from a key (default 2m).
	ActionTimeout time.Duration
	// Refused are the action keys the role of the one looking may not
	// use, each with the reason the console gives ("viewers cannot
	// approve reviews"): they are not offered, and pressing one is refused
	// at once. Nil is every power (the local console). The console's API
	// should be restricted the same way (access.Restrict).
	Refused map[Action]string
	// Who says who is looking and with what powers, e.g. "viewer" or
	// "alice · viewer (read only)"; the status line shows it, as given, at
	// its right end. Empty (the local console) shows nothing.
	Who string
	// Remote is set for a console that is one session of a shared engine
	// (over SSH): quitting closes only the session, the engine runs on.
	Remote bool
	// Editor is the command line (e.g. $EDITOR) T's run config may be
	// edited with, ctrl+o in the form (ctrl+e stays the end of a line);
	// empty offers the text area only.
	// Never set for a remote session: the editor runs on the engine's
	// machine, as the engine's user, and would be a shell for anyone who
	// reaches its escape to one.
	Editor string
}

// Model is the console's root model.
type Model struct {
	ctx  context.Context
	api  api.API
	opts Options
	c    *common.Common

	events      <-chan api.Event
	unsubscribe func()
	snap        *api.Snapshot
	summary     string // the status bar's text for snap

	panes [paneCount]common.Component
	focus int
	zoom  bool

	width, height int
	lay           layout

	help     help.Model
	showHelp bool
	// helpOffset is the first key row the `?` dialog shows when the
	// screen is too short for all of them.
	helpOffset int
	confirm    *confirmDialog
	toast      toast
	toastSeq   int

	spinner  spinner.Model
	busy     []string // names of work in flight, oldest first
	scanning bool

	quitting bool
	// refused are the action keys the role may not use.
	refused []refusedKey
}

// New builds the console for an engine. It subscribes to the engine's
// events at once, so nothing published after New is missed; Close ends the
// subscription. ctx bounds every engine call the console makes.
func New(ctx context.Context, api api.API, opts Options) *Model {
	if opts.Styles == nil {
		opts.Styles = styles.New(nil)
	}
	if opts.ClockInterval == 0 {
		opts.ClockInterval = time.Second
	}
	if opts.ActionTimeout <= 0 {
		opts.ActionTimeout = 2 * time.Minute
	}
	c := common.NewCommon(opts.Styles)
	c.Clock = clock.Or(opts.Clock)
	if !opts.Remote {
		c.Editor = opts.Editor
	}
	m := &Model{ctx: ctx, api: api, opts: opts, c: c}
	// Before the panes are built: they take their bindings from c.Keys.
	m.refused = restrictKeys(c.Keys, opts.Refused)
	m.events, m.unsubscribe = api.Subscribe()
	m.panes = [paneCount]common.Component{
		PaneDAGs:   dagtree.New(c),
		PaneRuns:   runqueue.New(c),
		PaneKafka:  kafkalag.New(c),
		PaneReview: review.New(c),
		PaneLogs:   logs.New(c),
	}
	m.help = newHelp(c)
	m.spinner = spinner.New(spinner.WithSpinner(spinner.Dot), spinner.WithStyle(c.Styles.Spinner))
	return m
}

// Close ends the engine subscription.
func (m *Model) Close() { m.unsubscribe() }

// Focused returns the focused pane's position.
func (m *Model) Focused() int { return m.focus }

// Pane returns the pane at a position, for tests and embedding.
func (m *Model) Pane(i int) common.Component { return m.panes[i] }

// Init implements tea.Model: the first snapshot, the engine relay, the
// clock and the panes' own commands.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.loadSnapshot(common.AllTopics), m.waitForChange(), m.clockTick()}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}
