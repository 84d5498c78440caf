package runqueue

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func newPane(t testing.TB, snap *api.Snapshot) *Model {
	t.Helper()
	c := common.NewCommon(styles.New(true))
	c.Now = viewtest.Clock
	m := New(c)
	m.SetSize(100, 30)
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	return m
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		}
		cmd = m.Update(msg)
	}
	return cmd
}

// The cursor never rests on a section header: it starts on the first run,
// moving up from there stays, and moving down passes over the headers.
func TestCursorPassesOverHeaders(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Loaded())
	if r := m.selectedRun(); r == nil || r.ID != 14 {
		t.Fatalf("cursor starts on %v, want run #14", r)
	}
	press(m, "up")
	if r := m.selectedRun(); r == nil || r.ID != 14 {
		t.Fatalf("up from the first run went to %v", r)
	}
	for i := 0; i < len(m.rows)+2; i++ {
		press(m, "j")
		if i := m.List.Cursor(); m.rows[i].kind == rowHeader {
			t.Fatalf("cursor on header row %d", i)
		}
	}
	press(m, "g")
	if m.rows[m.List.Cursor()].kind == rowHeader {
		t.Fatal("top put the cursor on a header")
	}
	if !strings.Contains(m.View(), "Queued (2)") {
		t.Fatalf("the first header scrolled out of view:\n%s", m.View())
	}
	// `c` with the cursor where it starts asks about a run, never says
	// "select a run".
	if msg := runCmd(press(m, "c")); msg == nil {
		t.Fatal("c on the first row did nothing")
	} else if ta, ok := msg.(common.ToastRequestedMsg); ok {
		t.Fatalf("c on the first row: %q", ta.Text)
	}
}

// With a filter, each header counts what the filter leaves of its section.
func TestHeadersCountFilteredRuns(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Loaded())
	press(m, "/")
	for _, r := range "hourly" {
		press(m, string(r))
	}
	press(m, "enter")
	view := m.View()
	for _, want := range []string{"Queued (1 of 2)", "Running (0 of 2)  none match the filter"} {
		if !strings.Contains(view, want) {
			t.Errorf("filtered view lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "Running (2)") {
		t.Errorf("a header keeps its unfiltered count:\n%s", view)
	}
}

func runCmd(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}
