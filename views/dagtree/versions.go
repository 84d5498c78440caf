package dagtree

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/views/common"
)

// VersionsLoadedMsg carries a DAG's stored versions, newest first.
type VersionsLoadedMsg struct {
	DAG      string
	Versions []api.DAGVersion
}

// VersionDiffLoadedMsg carries the diff from version From to To of a DAG.
type VersionDiffLoadedMsg struct {
	DAG      string
	From, To int
	Diff     string
}

// versionsView is the version list of one DAG (v on a DAG) and, over it,
// the diff of one version against the previous one (enter).
type versionsView struct {
	dag    string
	list   []api.DAGVersion
	loaded bool
	cursor common.List
	// diffTo is the version whose diff is shown, 0 for the list.
	diffTo, diffFrom int
}

// openVersions opens the version list of name and asks for it.
func (m *Model) openVersions(name string) tea.Cmd {
	m.versions = &versionsView{dag: name}
	m.versions.cursor.SetHeight(max(m.Height-2, 1))
	return loadVersions(name)
}

func loadVersions(name string) tea.Cmd {
	return common.RequestAction(common.Action{
		Name: "reading versions of " + name,
		Load: func(ctx context.Context, a api.API) (tea.Msg, error) {
			vs, err := a.DAGVersions(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("reading versions of %s: %w", name, err)
			}
			return VersionsLoadedMsg{DAG: name, Versions: vs}, nil
		},
	})
}

func (m *Model) versionsLoaded(msg VersionsLoadedMsg) {
	v := m.versions
	if v == nil || v.dag != msg.DAG {
		return
	}
	v.list, v.loaded = msg.Versions, true
	v.cursor.SetLen(len(v.list))
}

func (m *Model) diffLoaded(msg VersionDiffLoadedMsg) {
	v := m.versions
	if v == nil || v.dag != msg.DAG {
		return
	}
	v.diffFrom, v.diffTo = msg.From, msg.To
	m.Pager.Follow = false
	m.Pager.SetContent(m.diffText(msg.Diff))
	m.Pager.GotoTop()
}

func (m *Model) diffText(diff string) string {
	st := m.c.Styles
	if diff == "" {
		return st.Muted.Render("no difference")
	}
	// A diff is files' content: escaped by the engine, and again here,
	// which costs nothing on clean text.
	lines := strings.Split(strings.TrimRight(text.Diff(diff), "\n"), "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			lines[i] = st.Bold.Render(l)
		case strings.HasPrefix(l, "@@"):
			lines[i] = st.Accent.Render(l)
		case strings.HasPrefix(l, "+"):
			lines[i] = st.Good.Render(l)
		case strings.HasPrefix(l, "-"):
			lines[i] = st.Error.Render(l)
		}
	}
	return strings.Join(lines, "\n")
}

// versionsKey handles a key while the versions are open.
func (m *Model) versionsKey(msg tea.KeyMsg) tea.Cmd {
	k, v := m.c.Keys, m.versions
	if v.diffTo != 0 {
		if key.Matches(msg, k.Back) {
			v.diffTo, v.diffFrom = 0, 0
			return nil
		}
		m.Pager.Update(msg)
		return nil
	}
	if key.Matches(msg, k.Back) {
		m.versions = nil
		return nil
	}
	if v.cursor.Update(msg, k) {
		return nil
	}
	i := v.cursor.Cursor()
	if i < 0 || i >= len(v.list) {
		return nil
	}
	sel := v.list[i]
	switch {
	case key.Matches(msg, k.Enter):
		if i+1 >= len(v.list) {
			return common.Toast(fmt.Sprintf("v%d is the oldest version kept: nothing to compare with", sel.Version), false)
		}
		return loadDiff(v.dag, v.list[i+1].Version, sel.Version)
	case key.Matches(msg, k.Pin):
		return m.pin(v.dag, sel.Version)
	case key.Matches(msg, k.Unpin):
		return m.unpin(v.dag)
	}
	return nil
}

func loadDiff(name string, from, to int) tea.Cmd {
	return common.RequestAction(common.Action{
		Name: fmt.Sprintf("diffing v%d..v%d of %s", from, to, name),
		Load: func(ctx context.Context, a api.API) (tea.Msg, error) {
			d, err := a.DAGVersionDiff(ctx, name, from, to)
			if err != nil {
				return nil, fmt.Errorf("diffing %s: %w", name, err)
			}
			return VersionDiffLoadedMsg{DAG: name, From: from, To: to, Diff: d}, nil
		},
	})
}

func (m *Model) pin(name string, version int) tea.Cmd {
	return common.RequestAction(common.Action{
		Name: fmt.Sprintf("pinning %s to v%d", name, version),
		Prompt: fmt.Sprintf("Pin %s to v%d? Schedules, sensors and triggers run v%d whatever the file says, until unpinned.",
			name, version, version),
		Do: func(ctx context.Context, a api.API) (string, error) {
			if err := a.PinDAG(ctx, name, version); err != nil {
				return "", fmt.Errorf("pinning %s: %w", name, err)
			}
			return fmt.Sprintf("pinned %s to v%d", name, version), nil
		},
	})
}

func (m *Model) unpin(name string) tea.Cmd {
	if d := m.dagNamed(name); d == nil || d.Pinned == nil {
		return common.Toast(name+" is not pinned", false)
	}
	return common.RequestAction(common.Action{
		Name:   "unpinning " + name,
		Prompt: fmt.Sprintf("Unpin %s? It runs its file's version again.", name),
		Do: func(ctx context.Context, a api.API) (string, error) {
			if err := a.UnpinDAG(ctx, name); err != nil {
				return "", fmt.Errorf("unpinning %s: %w", name, err)
			}
			return "unpinned " + name, nil
		},
	})
}

// dagNamed is the DAG holding name (the first row of that name).
func (m *Model) dagNamed(name string) *api.DAG {
	if m.snap == nil {
		return nil
	}
	for i := range m.snap.DAGs {
		if m.snap.DAGs[i].Name == name {
			return &m.snap.DAGs[i]
		}
	}
	return nil
}

// versionsSnapshot reloads the list when the DAG gained a version.
func (m *Model) versionsSnapshot() tea.Cmd {
	v := m.versions
	if v == nil || !v.loaded {
		return nil
	}
	d := m.dagNamed(v.dag)
	if d == nil || d.Version == 0 {
		return nil
	}
	for _, x := range v.list {
		if x.Version == d.Version {
			return nil
		}
	}
	return loadVersions(v.dag)
}

func (m *Model) versionsHeader() string {
	st := m.c.Styles
	v := m.versions
	title := st.Bold.Render(v.dag) + "  " + st.Muted.Render("versions")
	if v.diffTo != 0 {
		title = st.Bold.Render(v.dag) + "  " + st.Muted.Render(fmt.Sprintf("diff v%d → v%d", v.diffFrom, v.diffTo))
	}
	return common.PadRight(title, m.Width)
}

func (m *Model) versionsView() string {
	if m.versions.diffTo != 0 {
		return m.versionsHeader() + "\n" + m.Pager.View()
	}
	st := m.c.Styles
	v := m.versions
	v.cursor.SetHeight(max(m.Height-2, 1))
	head := common.Columns(m.Width, []int{1, 14, 14, 20, 20}, "", "VERSION", "SHA256", "FIRST SEEN", "LAST SEEN", "SOURCE")
	body := ""
	switch {
	case !v.loaded:
		body = common.Lines(st.Muted.Render("  reading versions…"), m.Width, v.cursor.Height())
	case len(v.list) == 0:
		body = common.Lines(st.Muted.Render("  no versions stored yet"), m.Width, v.cursor.Height())
	default:
		body = common.RenderList(m.c, &v.cursor, m.Width, m.versionRow)
	}
	return m.versionsHeader() + "\n" + st.Muted.Render(head) + "\n" + body
}

func (m *Model) versionRow(i, width int) string {
	st := m.c.Styles
	x := m.versions.list[i]
	d := m.dagNamed(m.versions.dag)
	label := fmt.Sprintf("v%d", x.Version)
	var marks []string
	if d != nil && d.Version == x.Version {
		marks = append(marks, st.Good.Render("file"))
	}
	if d != nil && d.Pinned != nil && d.Pinned.Version == x.Version {
		marks = append(marks, st.Warn.Render("pinned"))
	}
	if len(marks) > 0 {
		label += " " + strings.Join(marks, " ")
	}
	sum := x.SHA256
	if len(sum) > 12 {
		sum = sum[:12]
	}
	return common.Columns(width, []int{14, 14, 20, 20}, label, sum,
		x.FirstSeen.UTC().Format("2006-01-02 15:04"), x.LastSeen.UTC().Format("2006-01-02 15:04"), text.Line(x.Source))
}

// versionsHelp is the footer while the versions are open.
func (m *Model) versionsHelp() []key.Binding {
	k := m.c.Keys
	if m.versions.diffTo != 0 {
		return []key.Binding{k.Up, k.Down, k.Back}
	}
	enter := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "diff"))
	return []key.Binding{k.Up, k.Down, enter, k.Pin, k.Unpin, k.Back}
}
