package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// scanFinishedMsg is the result of a forced rescan.
type scanFinishedMsg struct {
	res api.ScanResult
	err error
}

// actionFinishedMsg is the result of a pane's action.
type actionFinishedMsg struct {
	name string
	text string
	err  error
	// done is the action's Done message, for the panes on success.
	done tea.Msg
	// loaded is what a Load action read, for the panes.
	loaded tea.Msg
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.relayout()
		return m, nil
	case tea.KeyMsg:
		return m, m.handleKey(msg)
	case engineChangedMsg:
		return m, tea.Batch(m.applySnapshot(msg.SnapshotUpdatedMsg), m.waitForChange())
	case common.SnapshotUpdatedMsg:
		return m, m.applySnapshot(msg)
	case engineClosedMsg:
		return m, m.showToast("the engine closed its event stream; the screen no longer updates", true)
	case clockTickedMsg:
		return m, tea.Batch(m.broadcast(common.ClockTickedMsg{At: msg.at}), m.clockTick())
	case spinner.TickMsg:
		if len(m.busy) == 0 {
			return m, nil // let the spinner stop
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case common.ActionRequestedMsg:
		return m, m.requestAction(msg.Action)
	case common.RunOpenRequestedMsg:
		m.setFocus(PaneRuns)
		return m, m.broadcast(msg)
	case common.ToastRequestedMsg:
		return m, m.showToast(msg.Text, msg.Error)
	case toastExpiredMsg:
		if msg.seq == m.toast.seq {
			m.toast = toast{}
		}
		return m, nil
	case scanFinishedMsg:
		m.scanning = false
		m.done("scanning sources")
		if msg.err != nil {
			return m, m.showToast("rescan failed: "+msg.err.Error(), true)
		}
		return m, m.showToast(ScanSummary(msg.res), msg.res.Failed > 0)
	case actionFinishedMsg:
		m.done(msg.name)
		if msg.err != nil {
			return m, m.showToast(msg.err.Error(), true)
		}
		if msg.loaded != nil {
			return m, m.broadcast(msg.loaded)
		}
		if msg.done != nil {
			return m, tea.Batch(m.broadcast(msg.done), m.showToast(msg.text, false))
		}
		return m, m.showToast(msg.text, false)
	}
	return m, m.broadcast(msg)
}

func (m *Model) applySnapshot(msg common.SnapshotUpdatedMsg) tea.Cmd {
	if msg.Snap == nil {
		return nil
	}
	m.snap = msg.Snap
	m.summary = summary(msg.Snap)
	return m.broadcast(msg)
}

// broadcast hands a non-key message to every pane.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(m.panes))
	for _, p := range m.panes {
		cmds = append(cmds, p.Update(msg))
	}
	return tea.Batch(cmds...)
}

// handleKey routes a key: the dialog when one is open, then ctrl+c, then
// the focused pane when it is typing, then the global keys, then the
// focused pane.
func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.confirm != nil {
		return m.confirmKey(msg)
	}
	if msg.Type == tea.KeyCtrlC {
		return m.quit()
	}
	if m.showHelp {
		switch {
		case key.Matches(msg, k.Help, k.Back, k.Quit):
			m.showHelp = false
		case key.Matches(msg, k.Up):
			m.helpOffset--
		case key.Matches(msg, k.Down):
			m.helpOffset++
		case key.Matches(msg, k.PageUp):
			m.helpOffset -= max(m.lay.body.h-helpChrome, 1)
		case key.Matches(msg, k.PageDown):
			m.helpOffset += max(m.lay.body.h-helpChrome, 1)
		case key.Matches(msg, k.Top):
			m.helpOffset = 0
		case key.Matches(msg, k.Bottom):
			m.helpOffset = 1 << 20 // clamped when drawn
		}
		return nil
	}
	focused := m.panes[m.focus]
	if focused.Capturing() {
		return focused.Update(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.showHelp, m.helpOffset = true, 0
	case key.Matches(msg, k.NextPane):
		m.setFocus((m.focus + 1) % paneCount)
	case key.Matches(msg, k.PrevPane):
		m.setFocus((m.focus + paneCount - 1) % paneCount)
	case key.Matches(msg, k.Pane1):
		m.setFocus(PaneDAGs)
	case key.Matches(msg, k.Pane2):
		m.setFocus(PaneRuns)
	case key.Matches(msg, k.Pane3):
		m.setFocus(PaneKafka)
	case key.Matches(msg, k.Pane4):
		m.setFocus(PaneReview)
	case key.Matches(msg, k.Logs):
		m.setFocus(PaneLogs)
	case key.Matches(msg, k.Zoom):
		m.zoom = !m.zoom
		m.relayout()
	case key.Matches(msg, k.Rescan):
		return m.rescan()
	default:
		if reason, refused := m.refusal(msg); refused {
			return m.showToast(reason, true)
		}
		return focused.Update(msg)
	}
	return nil
}

func (m *Model) setFocus(i int) {
	if i == m.focus {
		return
	}
	m.focus = i
	if m.zoom {
		m.relayout()
	}
}

// quit leaves at once when nothing runs; with runs in flight it asks
// first, since quitting the local console stops the in-process engine:
// its running tasks are stopped and their runs settled as interrupted,
// as after a crash (runner.Stop). A remote console only closes its
// session: it still asks, so a stray q does not drop the operator's view,
// but says the runs go on.
func (m *Model) quit() tea.Cmd {
	running := 0
	if m.snap != nil {
		running = len(m.snap.Runs.Running)
	}
	if running == 0 {
		m.quitting = true
		return tea.Quit
	}
	prompt := fmt.Sprintf("%d run(s) in flight. Quit anyway? The engine stops: their running tasks are killed and the runs end failed (interrupted), queued again where the DAG sets retry_on_crash; queued runs wait for the next start.", running)
	if m.opts.Remote {
		prompt = fmt.Sprintf("%d run(s) in flight. Quit anyway? Only this session closes: the engine keeps running them.", running)
	}
	m.confirm = newConfirm(
		prompt,
		func() tea.Cmd {
			m.quitting = true
			return tea.Quit
		})
	return nil
}

func (m *Model) rescan() tea.Cmd {
	if m.scanning {
		return m.showToast("a rescan is already running", false)
	}
	m.scanning = true
	api, ctx, timeout := m.api, m.ctx, m.opts.ActionTimeout
	return tea.Batch(m.start("scanning sources"), func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res, err := api.ScanNow(ctx)
		return scanFinishedMsg{res: res, err: err}
	})
}

// ScanSummary is the toast after a forced rescan, naming a few of the DAGs
// that changed: "scanned 2 sources in 14 ms: 1 changed (demo/fanout), 1 invalid".
func ScanSummary(r api.ScanResult) string {
	s := fmt.Sprintf("scanned %d source", r.Sources)
	if r.Sources != 1 {
		s += "s"
	}
	s += fmt.Sprintf(" in %d ms: %d changed", r.Duration.Milliseconds(), r.Changed)
	if names := r.ChangedDAGs; len(names) > 0 {
		const named = 3
		list := strings.Join(names[:min(len(names), named)], ", ")
		if len(names) > named {
			list += fmt.Sprintf(" +%d more", len(names)-named)
		}
		s += " (" + list + ")"
	}
	s += fmt.Sprintf(", %d invalid", r.Invalid)
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d failed", r.Failed)
	}
	return s
}

func (m *Model) requestAction(a common.Action) tea.Cmd {
	if a.DoInput != nil {
		do := a.DoInput
		if a.Prompt == "" || a.Input == "" {
			a.Do = func(ctx context.Context, api api.API) (string, error) { return do(ctx, api, "") }
		} else {
			d := newConfirm(a.Prompt, nil)
			d.withInput(a.Input)
			d.onYes = func() tea.Cmd {
				text := d.input.Value()
				a.Do = func(ctx context.Context, api api.API) (string, error) { return do(ctx, api, text) }
				return m.runAction(a)
			}
			m.confirm = d
			return nil
		}
	}
	if a.Do == nil && a.Load == nil {
		return nil
	}
	if a.Prompt == "" {
		return m.runAction(a)
	}
	m.confirm = newConfirm(a.Prompt, func() tea.Cmd { return m.runAction(a) })
	return nil
}

func (m *Model) runAction(a common.Action) tea.Cmd {
	api, ctx, timeout := m.api, m.ctx, m.opts.ActionTimeout
	var spin tea.Cmd
	if !a.Quiet {
		spin = m.start(a.Name)
	}
	return tea.Batch(spin, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if a.Load != nil {
			loaded, err := a.Load(ctx, api)
			if errors.Is(err, context.Canceled) && m.ctx.Err() != nil {
				return nil
			}
			return actionFinishedMsg{name: a.Name, err: err, loaded: loaded}
		}
		text, err := a.Do(ctx, api)
		if errors.Is(err, context.Canceled) && m.ctx.Err() != nil {
			return nil // the console is closing
		}
		return actionFinishedMsg{name: a.Name, text: text, err: err, done: a.Done}
	})
}

// start records work in flight and starts the spinner if it was idle.
func (m *Model) start(name string) tea.Cmd {
	m.busy = append(m.busy, name)
	if len(m.busy) == 1 {
		return m.spinner.Tick
	}
	return nil
}

func (m *Model) done(name string) {
	for i, n := range m.busy {
		if n == name {
			m.busy = append(m.busy[:i], m.busy[i+1:]...)
			return
		}
	}
}
