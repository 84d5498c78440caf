package dagtree

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func newPane(t testing.TB, snap *api.Snapshot) *Model {
	t.Helper()
	c := common.NewCommon(styles.ForProfile(termenv.Ascii))
	c.Clock = viewtest.Clock
	m := New(c)
	m.SetSize(120, 200)
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	return m
}

func press(m *Model, k string) {
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
}

func countKind(m *Model, kind rowKind) int {
	n := 0
	for _, r := range m.rows {
		if r.kind == kind {
			n++
		}
	}
	return n
}

// A small tree starts open; collapse all leaves sources, folders and DAGs;
// expand all brings every task and error back.
func TestCollapseAndExpandAll(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Loaded())
	tasks, errs, dags := countKind(m, rowTask), countKind(m, rowError), countKind(m, rowDAG)
	if tasks == 0 || errs == 0 {
		t.Fatalf("a small tree starts with %d tasks and %d errors shown", tasks, errs)
	}
	press(m, "-")
	if n := countKind(m, rowTask) + countKind(m, rowError); n != 0 {
		t.Errorf("collapse all left %d task and error rows", n)
	}
	if countKind(m, rowDAG) != dags {
		t.Errorf("collapse all hid DAGs: %d of %d", countKind(m, rowDAG), dags)
	}
	if !strings.Contains(m.View(), "▸ fanout") {
		t.Errorf("a folded DAG is not marked folded:\n%s", m.View())
	}
	// One DAG opened by hand opens alone.
	for i, r := range m.rows {
		if r.kind == rowDAG && m.snap.DAGs[r.dag].Name == "demo/fanout" {
			m.List.Select(i)
		}
	}
	press(m, " ")
	if got := countKind(m, rowTask); got != len(m.snap.DAGs[0].Def.Nodes) {
		t.Errorf("opening one DAG shows %d tasks, want its %d", got, len(m.snap.DAGs[0].Def.Nodes))
	}
	press(m, "+")
	if countKind(m, rowTask) != tasks || countKind(m, rowError) != errs {
		t.Errorf("expand all shows %d tasks and %d errors, want %d and %d", countKind(m, rowTask), countKind(m, rowError), tasks, errs)
	}
}

// Above CollapseAbove DAGs the tree starts at DAG level.
func TestLargeTreeStartsCollapsed(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Large(CollapseAbove+1, 0))
	if n := countKind(m, rowTask); n != 0 {
		t.Errorf("a tree of %d DAGs starts with %d task rows", CollapseAbove+1, n)
	}
	if n := countKind(m, rowDAG); n != CollapseAbove+1 {
		t.Errorf("%d DAG rows, want %d", n, CollapseAbove+1)
	}
	small := newPane(t, viewtest.Large(CollapseAbove, 0))
	if countKind(small, rowTask) == 0 {
		t.Error("a tree at the threshold starts collapsed")
	}
}

// An invalid file whose last good version still runs shows when it fires
// next, as an active one does.
func TestInvalidLastGoodShowsNextFire(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Loaded())
	view := m.View()
	for _, line := range strings.Split(view, "\n") {
		if strings.Contains(line, "daily_etl") {
			if !strings.Contains(line, "[invalid: last good kept]") || !strings.Contains(line, "next in 15h") {
				t.Errorf("invalid DAG line lacks its next fire: %q", line)
			}
			return
		}
	}
	t.Fatalf("no daily_etl row:\n%s", view)
}

// With a filter the summary says how many DAGs it keeps.
func TestFilterCountsMatches(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Loaded())
	press(m, "/")
	for _, r := range "reports" {
		press(m, string(r))
	}
	if first := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(first, "3 of 7 DAGs match") {
		t.Errorf("filtered summary: %q", first)
	}
}

// A git source shows its commit and last fetch, kept when a fetch fails;
// its DAGs show the commit they came from.
func TestGitSourceShowsCommit(t *testing.T) {
	t.Parallel()
	snap := viewtest.Loaded()
	commit := &api.Commit{Hash: "abc1234def", Short: "abc1234", Author: "Ada", Subject: "Add etl"}
	snap.Sources = append(snap.Sources, api.Source{Name: "git", Location: "https://git.example.com/dags.git#main:dags",
		OK: true, Files: 1, Commit: commit, LastScan: viewtest.Now.Add(-5 * time.Second), ScanDuration: 20 * time.Millisecond})
	snap.DAGs = append(snap.DAGs, api.DAG{Name: "gitetl", Source: "git", Location: "https://git.example.com/dags.git#main:dags/gitetl.json",
		Status: api.DAGActive, Origin: commit, Def: &api.DAGDef{Enabled: true}})
	find := func(view, what string) string {
		for _, line := range strings.Split(view, "\n") {
			if strings.Contains(line, what) {
				return line
			}
		}
		t.Fatalf("no %q line:\n%s", what, view)
		return ""
	}
	view := newPane(t, snap).View()
	if line := find(view, "dags.git#main:dags "); !strings.Contains(line, "[ok] 1 files · at abc1234 Add etl (Ada) · fetched 5s ago") {
		t.Errorf("git source line: %q", line)
	}
	if line := find(view, "gitetl"); !strings.Contains(line, "@abc1234") {
		t.Errorf("git DAG line lacks its origin: %q", line)
	}

	snap.Sources[len(snap.Sources)-1].OK, snap.Sources[len(snap.Sources)-1].Error = false, "fetching main: connection refused"
	m := newPane(t, snap)
	m.SetSize(160, 200)
	view = m.View()
	if line := find(view, "dags.git#main:dags "); !strings.Contains(line, "[error] fetching main: connection refused · keeping abc1234 · last fetch 5s ago") {
		t.Errorf("failing git source line: %q", line)
	}
}

// A paused DAG does not fire: its row says paused, not when it would fire
// next; unpaused, the next fire time is back.
func TestPausedDAGShowsNoNextFire(t *testing.T) {
	t.Parallel()
	snap := viewtest.Loaded()
	snap.DAGs[0].Paused = &api.DAGPause{By: "alice", At: viewtest.Now.Add(-time.Minute)}
	m := newPane(t, snap)
	row := func(name string) string {
		for _, line := range strings.Split(m.View(), "\n") {
			if strings.Contains(line, name+"  [") {
				return line
			}
		}
		t.Fatalf("no row for %s:\n%s", name, m.View())
		return ""
	}
	if got := row("fanout"); strings.Contains(got, "next in") || !strings.Contains(got, "[paused]") {
		t.Errorf("paused DAG row: %q, want [paused] and no next fire", got)
	}
	if got := row("flaky"); !strings.Contains(got, "next in 3s") {
		t.Errorf("an active DAG lost its next fire: %q", got)
	}
}

// The pause action reads "pausing x" while it works and "paused x" after.
func TestPauseActionWording(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Loaded())
	for _, tc := range []struct {
		paused      bool
		doing, done string
	}{{true, "pausing demo/fanout", "paused demo/fanout"}, {false, "unpausing demo/fanout", "unpaused demo/fanout"}} {
		a := m.pause("demo/fanout", tc.paused)().(common.ActionRequestedMsg).Action
		if a.Name != tc.doing {
			t.Errorf("action name %q, want %q", a.Name, tc.doing)
		}
		text, err := a.Do(context.Background(), pauser{})
		if err != nil || text != tc.done {
			t.Errorf("action result %q, %v; want %q", text, err, tc.done)
		}
	}
}

// pauser is an engine API that only pauses.
type pauser struct{ api.API }

func (pauser) PauseDAG(context.Context, string, bool, string) error { return nil }
