package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// engineChangedMsg is the relay's message: a snapshot re-read after an event.
// It wraps the pane message so the root knows to wait for the next event.
type engineChangedMsg struct{ common.SnapshotUpdatedMsg }

// engineClosedMsg says the subscription channel was closed.
type engineClosedMsg struct{}

// waitForChange is the one place engine events enter the program: it blocks
// (in a command goroutine, never in Update) for the next coalesced event,
// then reads the snapshot there too, so a slow snapshot never stalls input.
// Exactly one wait is outstanding at a time: the next starts when this one's
// message is handled, so the console re-reads at most once per update it
// renders, and the engine's one-slot channel merges whatever came meanwhile.
func (m *Model) waitForChange() tea.Cmd {
	ch, api, ctx := m.events, m.api, m.ctx
	return func() tea.Msg {
		select {
		case ev, ok := <-ch:
			if !ok {
				return engineClosedMsg{}
			}
			return engineChangedMsg{common.SnapshotUpdatedMsg{Snap: api.Snapshot(), Topics: ev.Topics}}
		case <-ctx.Done():
			return nil
		}
	}
}

// loadSnapshot reads the snapshot without waiting for an event.
func (m *Model) loadSnapshot(topics api.Topic) tea.Cmd {
	api := m.api
	return func() tea.Msg {
		return common.SnapshotUpdatedMsg{Snap: api.Snapshot(), Topics: topics}
	}
}

type clockTickedMsg struct{ at time.Time }

func (m *Model) clockTick() tea.Cmd {
	if m.opts.ClockInterval < 0 {
		return nil
	}
	return tea.Tick(m.opts.ClockInterval, func(t time.Time) tea.Msg { return clockTickedMsg{at: t} })
}
