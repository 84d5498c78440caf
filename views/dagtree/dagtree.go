// Package dagtree is the console's DAG tree pane: sources → folders → DAGs →
// tasks with their dependencies, status badges, validation errors under the
// file that caused them, each source's health, and a details view.
package dagtree

import (
	"context"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// Model is the DAG tree pane.
type Model struct {
	common.ListPane
	c      *common.Common
	snap   *api.Snapshot
	rows   []row
	counts counts
	// folded holds source and folder keys that are folded, and DAG keys
	// whose fold differs from dagsFolded, the default for every DAG.
	matched    int // DAGs the filter keeps
	folded     map[string]bool
	dagsFolded bool
	// sized is set once the first snapshot chose the starting fold.
	sized bool

	// detail is the location of the DAG whose details are open, "" for
	// the tree.
	detail string
	// versions is open over the tree or the details (v), nil otherwise.
	versions *versionsView
	// triggerForm (T) and backfillForm (B) are open over the tree or the
	// details, nil otherwise; either takes every key.
	triggerForm  *triggerForm
	backfillForm *backfillForm
}

var _ common.Component = (*Model)(nil)

// CollapseAbove is the number of DAGs above which the tree starts
// collapsed to DAG level: every task of every DAG is too much to scroll.
const CollapseAbove = 50

// New returns an empty DAG tree.
func New(c *common.Common) *Model {
	return &Model{ListPane: common.NewListPane(c), c: c, folded: map[string]bool{}}
}

// Title implements common.Component.
func (m *Model) Title() string { return "DAGs" }

// Capturing implements common.Component: a form being filled takes every
// key, as a filter being typed does.
func (m *Model) Capturing() bool {
	return m.triggerForm != nil || m.backfillForm != nil || m.ListPane.Capturing()
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.ListPane.SetSize(width, height)
	m.sizeTriggerForm()
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		prev := m.snap
		m.snap = msg.Snap
		m.counts = countSnapshot(m.snap)
		if !m.sized && m.snap != nil {
			m.sized = true
			m.dagsFolded = len(m.snap.DAGs) > CollapseAbove
		}
		// Rows index the snapshot they were built from: rebuild whenever
		// the DAGs may differ, not only when the engine says so.
		if msg.Topics&api.TopicDAGs != 0 || prev == nil || !sameTreeShape(prev, m.snap) {
			m.rebuild(prev)
		}
		if m.detail != "" {
			m.refreshDetail()
		}
		return m.versionsSnapshot()
	case VersionsLoadedMsg:
		m.versionsLoaded(msg)
	case VersionDiffLoadedMsg:
		m.diffLoaded(msg)
	case TriggerFormClosedMsg:
		if m.triggerForm != nil && m.triggerForm.dag == msg.DAG {
			m.triggerForm = nil
		}
	case EditorClosedMsg:
		m.editorClosed(msg)
	case BackfillPreviewedMsg:
		m.backfillPreviewed(msg)
	case BackfillFormClosedMsg:
		if m.backfillForm != nil && m.backfillForm.dag == msg.DAG {
			m.backfillForm = nil
		}
	case common.ClockTickedMsg:
		if m.detail != "" {
			m.refreshDetail()
		}
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.triggerForm != nil {
		return m.triggerFormKey(msg)
	}
	if m.backfillForm != nil {
		return m.backfillFormKey(msg)
	}
	if m.Filter.Editing() {
		return m.Filter.EditKey(msg, m.refilter, m.Relayout)
	}
	if m.versions != nil {
		return m.versionsKey(msg)
	}
	if m.detail != "" {
		switch {
		case key.Matches(msg, k.Back):
			m.detail = ""
		case key.Matches(msg, k.Trigger):
			if d := m.findDAG(m.detail); d != nil {
				return m.trigger(d.Name)
			}
		case key.Matches(msg, k.TriggerConfig):
			if d := m.findDAG(m.detail); d != nil {
				return m.openTriggerForm(d.Name)
			}
		case key.Matches(msg, k.Backfill):
			if d := m.findDAG(m.detail); d != nil {
				return m.openBackfillForm(d)
			}
		case key.Matches(msg, k.Versions):
			if d := m.findDAG(m.detail); d != nil {
				return m.openVersions(d.Name)
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
	case key.Matches(msg, k.Toggle):
		m.toggle()
	case key.Matches(msg, k.CollapseAll):
		m.foldAll(true)
	case key.Matches(msg, k.ExpandAll):
		m.foldAll(false)
	case key.Matches(msg, k.Enter):
		r, ok := m.selected()
		if !ok {
			return nil
		}
		if r.kind == rowSource || r.kind == rowFolder {
			m.toggle()
			return nil
		}
		m.detail = m.snap.DAGs[r.dag].Location
		m.Pager.Follow = false
		m.refreshDetail()
		m.Pager.GotoTop()
	case key.Matches(msg, k.Trigger):
		r, ok := m.selected()
		if !ok || r.kind == rowSource || r.kind == rowFolder {
			return common.Toast("select a DAG to trigger", true)
		}
		return m.trigger(m.snap.DAGs[r.dag].Name)
	case key.Matches(msg, k.TriggerConfig):
		r, ok := m.selected()
		if !ok || r.kind == rowSource || r.kind == rowFolder {
			return common.Toast("select a DAG to trigger", true)
		}
		return m.openTriggerForm(m.snap.DAGs[r.dag].Name)
	case key.Matches(msg, k.Backfill):
		r, ok := m.selected()
		if !ok || r.kind == rowSource || r.kind == rowFolder {
			return common.Toast("select a scheduled DAG to backfill", true)
		}
		return m.openBackfillForm(&m.snap.DAGs[r.dag])
	case key.Matches(msg, k.PauseDAG):
		r, ok := m.selected()
		if !ok || r.kind == rowSource || r.kind == rowFolder {
			return common.Toast("select a DAG to pause", true)
		}
		d := &m.snap.DAGs[r.dag]
		return m.pause(d.Name, d.Paused == nil)
	case key.Matches(msg, k.Versions):
		r, ok := m.selected()
		if !ok || r.kind == rowSource || r.kind == rowFolder {
			return common.Toast("select a DAG to list its versions", true)
		}
		return m.openVersions(m.snap.DAGs[r.dag].Name)
	}
	return nil
}

// pause asks to pause (or unpause) a DAG: its schedules and sensors stop,
// manual triggers still run.
func (m *Model) pause(name string, paused bool) tea.Cmd {
	doing, done, prompt := "pausing", "paused", fmt.Sprintf("Pause %s? Its schedules and sensors stop firing until unpaused; manual triggers still run.", name)
	if !paused {
		doing, done, prompt = "unpausing", "unpaused", fmt.Sprintf("Unpause %s? Its schedules and sensors fire again.", name)
	}
	return common.RequestAction(common.Action{
		Name:   doing + " " + name,
		Prompt: prompt,
		Do: func(ctx context.Context, api api.API) (string, error) {
			if err := api.PauseDAG(ctx, name, paused, ""); err != nil {
				return "", fmt.Errorf("%s %s: %w", doing, name, err)
			}
			return done + " " + name, nil
		},
	})
}

func (m *Model) refilter() { m.rebuild(m.snap) }

func (m *Model) trigger(name string) tea.Cmd {
	return common.RequestAction(common.Action{
		Name:   "triggering " + name,
		Prompt: fmt.Sprintf("Trigger a run of %s now?", name),
		Do: func(ctx context.Context, api api.API) (string, error) {
			// The engine's error names the DAG (api.API).
			id, err := api.Trigger(ctx, name, nil)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("queued run #%d of %s", id, name), nil
		},
	})
}

func (m *Model) selected() (row, bool) {
	i := m.List.Cursor()
	if i < 0 || i >= len(m.rows) {
		return row{}, false
	}
	return m.rows[i], true
}

func (m *Model) toggle() {
	r, ok := m.selected()
	if !ok || r.kind == rowError || r.kind == rowTask {
		return
	}
	key := r.key
	if r.kind == rowDAG {
		key = dagFoldKey(m.snap.DAGs[r.dag].Location)
	}
	if m.folded[key] {
		delete(m.folded, key)
	} else {
		m.folded[key] = true
	}
	m.rebuild(m.snap)
}

// foldAll collapses the tree to DAG level (every source and folder open,
// every DAG folded) or expands everything. The cursor's DAG keeps it;
// a task or error row under a folding DAG gives it to its DAG.
func (m *Model) foldAll(fold bool) {
	if r, ok := m.selected(); ok && fold && (r.kind == rowTask || r.kind == rowError) {
		for i := m.List.Cursor(); i >= 0; i-- {
			if m.rows[i].kind == rowDAG && m.rows[i].dag == r.dag {
				m.List.Select(i)
				break
			}
		}
	}
	clear(m.folded)
	m.dagsFolded = fold
	m.rebuild(m.snap)
}

// dagFolded reports whether a DAG's errors and tasks are hidden.
func (m *Model) dagFolded(location string) bool {
	return m.dagsFolded != m.folded[dagFoldKey(location)]
}

// rebuild recomputes the rows, keeping the cursor on the same row when it
// is still there.
func (m *Model) rebuild(prev *api.Snapshot) {
	var keep rowID
	had := false
	if r, ok := m.selected(); ok && prev != nil {
		keep, had = idOf(prev, r), true
	}
	m.rows, m.matched = build(m.snap, m.Filter.Matcher(), m.folded, m.dagsFolded)
	m.List.SetLen(len(m.rows))
	if !had {
		return
	}
	for i := range m.rows {
		if idOf(m.snap, m.rows[i]) == keep {
			m.List.Select(i)
			return
		}
	}
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	if m.triggerForm != nil {
		return m.triggerFormHelp()
	}
	if m.backfillForm != nil {
		return m.backfillFormHelp()
	}
	if m.Filter.Editing() {
		return m.Filter.EditingHelp()
	}
	if m.versions != nil {
		return m.versionsHelp()
	}
	if m.detail != "" {
		return []key.Binding{k.Up, k.Down, k.Trigger, k.TriggerConfig, k.Versions, k.Back}
	}
	return []key.Binding{k.Up, k.Down, k.Enter, k.Filter, k.Trigger, k.Toggle}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	switch {
	case m.triggerForm != nil:
		return [][]key.Binding{m.triggerFormHelp()}
	case m.backfillForm != nil:
		return [][]key.Binding{m.backfillFormHelp()}
	case m.versions != nil:
		return [][]key.Binding{k.Navigation(), m.versionsHelp()}
	}
	return [][]key.Binding{k.Navigation(), {k.Filter, k.Enter, k.Back}, {k.Toggle, k.CollapseAll, k.ExpandAll},
		{k.Trigger, k.TriggerConfig, k.Backfill, k.PauseDAG, k.Versions}}
}
