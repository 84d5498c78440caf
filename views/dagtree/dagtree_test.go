package dagtree

import (
	"strings"
	"testing"

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
