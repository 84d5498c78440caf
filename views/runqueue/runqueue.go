// Package runqueue is the console's run queue pane: queued runs with the
// reason each waits, running runs task by task with progress, recent
// finished runs with duration and outcome, and a run's details with its
// captured log tail, following live while it runs.
package runqueue

import (
	"context"
	"errors"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// Model is the run queue pane.
type Model struct {
	common.ListPane
	c    *common.Common
	snap *api.Snapshot
	rows []row
	// nameWidth is the longest DAG name among the rows, for the column.
	nameWidth int
	idWidth   int // "#" and the longest run id
	// shown counts each section's runs that pass the filter, for the
	// section headers.
	shown [secFinished + 1]int

	// detail is the run whose details are open, 0 for the queue.
	detail int64
	// trigger is the position in triggerFilters of the list's trigger
	// filter; 0 shows every run.
	trigger int
	// bf are the active backfills, shown above the queue.
	bf backfills
	// markForm is open over the queue (M), nil otherwise.
	markForm *markForm
}

// triggerFilters are what the by-trigger key cycles through: everything,
// everything but the sensor runs that can flood the list, then one
// trigger at a time.
var triggerFilters = [...]struct{ label, only, not string }{
	{label: "all"},
	{label: "not sensor", not: "sensor"},
	{label: "schedule", only: "schedule"},
	{label: "sensor", only: "sensor"},
	{label: "manual", only: "manual"},
	{label: "backfill", only: "backfill"},
}

// triggerMatch reports whether a run's trigger passes the trigger filter.
func (m *Model) triggerMatch(trigger string) bool {
	f := triggerFilters[m.trigger]
	return (f.only == "" || trigger == f.only) && (f.not == "" || trigger != f.not)
}

var _ common.Component = (*Model)(nil)

// New returns an empty run queue.
func New(c *common.Common) *Model {
	m := &Model{ListPane: common.NewListPane(c), c: c}
	// Section headers have no action: the cursor passes over them.
	m.List.SetSkip(func(i int) bool {
		return i < len(m.rows) && (m.rows[i].kind == rowHeader || m.rows[i].kind == rowBackfillHeader)
	})
	return m
}

// Title implements common.Component.
func (m *Model) Title() string { return "Runs" }

// Capturing implements common.Component: the mark form takes every key.
func (m *Model) Capturing() bool { return m.markForm != nil || m.ListPane.Capturing() }

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		prev := m.snap
		m.snap = msg.Snap
		// Rows index the snapshot they were built from: rebuild whenever
		// the runs may differ, not only when the engine says so.
		if msg.Topics&api.TopicRuns != 0 || prev == nil || !sameRunShape(prev, m.snap) {
			m.rebuild(prev)
		}
		if m.detail != 0 {
			m.refreshDetail()
		}
		if prev == nil || msg.Topics&api.TopicRuns != 0 {
			return m.refreshBackfills(prev == nil)
		}
	case BackfillsLoadedMsg:
		m.backfillsLoaded(msg)
	case BackfillCancelledMsg:
		return m.refreshBackfills(true)
	case MarkFormClosedMsg:
		if m.markForm != nil && m.markForm.run == msg.Run {
			m.markForm = nil
		}
	case common.ClockTickedMsg:
		if m.detail != 0 {
			m.refreshDetail()
		}
	case common.RunOpenRequestedMsg:
		r := m.findRun(msg.Run)
		if r == nil {
			return common.Toast(fmt.Sprintf("run #%d has left the recent runs: sluice runs list shows it", msg.Run), true)
		}
		m.openDetail(r)
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.markForm != nil {
		return m.markFormKey(msg)
	}
	if m.Filter.Editing() {
		return m.Filter.EditKey(msg, m.refilter, m.Relayout)
	}
	if m.detail != 0 {
		switch {
		case key.Matches(msg, k.Back):
			m.detail = 0
		case key.Matches(msg, k.Mark):
			if r := m.findRun(m.detail); r != nil {
				return m.openMarkForm(r)
			}
		case key.Matches(msg, k.Cancel):
			if r := m.findRun(m.detail); r != nil {
				return m.cancel(r)
			}
		case key.Matches(msg, k.Rerun), key.Matches(msg, k.Clear):
			if r := m.findRun(m.detail); r != nil {
				return m.rerun(r, key.Matches(msg, k.Clear))
			}
		default:
			m.Pager.Update(msg)
		}
		return nil
	}
	if m.List.Update(msg, k) {
		return nil
	}
	if handled, cmd := m.Filter.ListKey(msg, m.refilter, m.Relayout); handled {
		return cmd
	}
	switch {
	case key.Matches(msg, k.Enter):
		if r := m.selectedRun(); r != nil {
			m.openDetail(r)
		}
	case key.Matches(msg, k.ByTrigger):
		m.trigger = (m.trigger + 1) % len(triggerFilters)
		m.rebuild(m.snap)
	case key.Matches(msg, k.CancelBackfill) && m.selectedBackfill() != nil:
		return m.cancelBackfill(m.selectedBackfill())
	case key.Matches(msg, k.Cancel):
		r := m.selectedRun()
		if r == nil {
			return common.Toast("select a run to cancel", true)
		}
		return m.cancel(r)
	case key.Matches(msg, k.Rerun), key.Matches(msg, k.Clear):
		r := m.selectedRun()
		if r == nil {
			return common.Toast("select a finished run to re-run", true)
		}
		return m.rerun(r, key.Matches(msg, k.Clear))
	case key.Matches(msg, k.Mark):
		r := m.selectedRun()
		if r == nil {
			return common.Toast("select a finished run to mark", true)
		}
		return m.openMarkForm(r)
	}
	return nil
}

// rerun asks to re-run a finished run, or (fromFailed) to clear it from
// its failed tasks.
func (m *Model) rerun(r *api.Run, fromFailed bool) tea.Cmd {
	if !r.State.Finished() {
		return common.Toast(fmt.Sprintf("run #%d is %s: re-run it once it finished", r.ID, r.State), true)
	}
	id, name := r.ID, r.DAG
	if r.Batch != "" && !fromFailed {
		return replay(r)
	}
	verb, prompt := "re-running", fmt.Sprintf("Re-run run #%d of %s? Every task runs again, with the same run config.", id, name)
	if fromFailed {
		if r.State == api.RunSuccess {
			return common.Toast(fmt.Sprintf("run #%d succeeded: nothing failed to clear (R re-runs it)", id), true)
		}
		verb, prompt = "clearing", fmt.Sprintf("Clear run #%d of %s from failed? Tasks that succeeded are skipped; failed ones and everything downstream run again.", id, name)
	}
	return common.RequestAction(common.Action{
		Name:   fmt.Sprintf("%s run #%d", verb, id),
		Prompt: prompt,
		Do: func(ctx context.Context, a api.API) (string, error) {
			newID, err := a.Rerun(ctx, id, rerunOptions(fromFailed))
			if errors.Is(err, api.ErrRerunPending) {
				return fmt.Sprintf("run #%d already re-runs #%d: nothing new queued", newID, id), nil
			}
			if err != nil {
				// The engine's error names the run (api.API).
				return "", err
			}
			return fmt.Sprintf("queued run #%d, a re-run of #%d", newID, id), nil
		},
	})
}

// replay asks to replay a sensor run's stored batch: R on a batch run
// processes the same records again, never a fresh read from Kafka.
func replay(r *api.Run) tea.Cmd {
	id, name, batch := r.ID, r.DAG, r.Batch
	return common.RequestAction(common.Action{
		Name: fmt.Sprintf("replaying the batch of run #%d", id),
		Prompt: fmt.Sprintf("Replay batch %s of run #%d of %s? A new run processes the same stored records; no offset moves, nothing is read from Kafka.",
			batch, id, name),
		Do: func(ctx context.Context, api api.API) (string, error) {
			newID, err := api.ReplayBatch(ctx, id, "")
			if err != nil {
				return "", err // the engine's error names the run (api.API)
			}
			return fmt.Sprintf("queued run #%d, a replay of #%d's batch %s", newID, id, batch), nil
		},
	})
}

func (m *Model) refilter() { m.rebuild(m.snap) }

func (m *Model) openDetail(r *api.Run) {
	m.detail = r.ID
	// A run still going is followed: its log tail stays in view.
	m.Pager.Follow = r.State == api.RunRunning || r.State == api.RunQueued
	m.refreshDetail()
	if !m.Pager.Follow {
		m.Pager.GotoTop()
	}
}

func (m *Model) cancel(r *api.Run) tea.Cmd {
	if r.State != api.RunQueued && r.State != api.RunRunning {
		return common.Toast(fmt.Sprintf("run #%d already %s", r.ID, r.State), true)
	}
	id, name := r.ID, r.DAG
	prompt := fmt.Sprintf("Cancel queued run #%d of %s?", id, name)
	if r.State == api.RunRunning {
		prompt = fmt.Sprintf("Cancel run #%d of %s? It is running (%d/%d tasks done); running tasks are killed.", id, name, r.Done, r.Total)
	}
	return common.RequestAction(common.Action{
		Name:        fmt.Sprintf("cancelling run #%d", id),
		Prompt:      prompt,
		Destructive: true,
		Do: func(ctx context.Context, api api.API) (string, error) {
			// The engine's error names the run (api.API).
			if err := api.Cancel(ctx, id); err != nil {
				return "", err
			}
			return fmt.Sprintf("cancelled run #%d of %s", id, name), nil
		},
	})
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	if m.markForm != nil {
		return m.markFormHelp()
	}
	if m.Filter.Editing() {
		return m.Filter.EditingHelp()
	}
	if m.detail != 0 {
		return append([]key.Binding{k.Up, k.Down, k.Bottom}, append(m.runActions(m.findRun(m.detail)), k.Back)...)
	}
	if m.selectedBackfill() != nil {
		return []key.Binding{k.Up, k.Down, k.Filter, k.ByTrigger, k.CancelBackfill}
	}
	return []key.Binding{k.Up, k.Down, k.Enter, k.Filter, k.ByTrigger, k.Cancel}
}

// runActions are the keys that apply to run r in its state: cancel while
// it is queued or running, re-run once it finished, clear from failed
// unless it succeeded.
func (m *Model) runActions(r *api.Run) []key.Binding {
	k := m.c.Keys
	switch {
	case r == nil:
		return nil
	case !r.State.Finished():
		return []key.Binding{k.Cancel}
	case r.State == api.RunSuccess:
		return []key.Binding{k.Rerun}
	}
	return []key.Binding{k.Rerun, k.Clear}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	if m.markForm != nil {
		return [][]key.Binding{m.markFormHelp()}
	}
	return [][]key.Binding{k.Navigation(), {k.Filter, k.ByTrigger, k.Enter, k.Back}, {k.Cancel, k.Rerun, k.Clear, k.Mark, k.CancelBackfill}}
}

// sameRunShape reports whether rows built from a still index b the same
// way (an event can carry a snapshot whose runs moved before their topic
// was announced). It allocates nothing.
func sameRunShape(a, b *api.Snapshot) bool {
	for sec := secQueued; sec <= secFinished; sec++ {
		x, y := section(a, sec), section(b, sec)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].ID != y[i].ID || len(x[i].Tasks) != len(y[i].Tasks) {
				return false
			}
		}
	}
	return true
}

func rerunOptions(fromFailed bool) api.RerunOptions { return api.RerunOptions{FromFailed: fromFailed} }
