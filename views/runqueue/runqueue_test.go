package runqueue

import (
	"context"
	"fmt"
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

// A bounded Finished list says it is bounded and where the rest are.
func TestFinishedShowsItsBound(t *testing.T) {
	t.Parallel()
	snap := viewtest.Loaded()
	snap.Runs.FinishedTotal = 6777
	m := newPane(t, snap)
	view := m.View()
	n := len(snap.Runs.Finished)
	want := fmt.Sprintf("Finished (%d)  latest %d of 6,777 — /filter or `sluice runs list`", n, n)
	if !strings.Contains(view, want) {
		t.Errorf("view lacks %q:\n%s", want, view)
	}
	if !strings.Contains(view, "6,777 finished") {
		t.Errorf("summary does not count every finished run:\n%s", view)
	}
	snap = viewtest.Loaded()
	snap.Runs.FinishedTotal = len(snap.Runs.Finished)
	if view := newPane(t, snap).View(); strings.Contains(view, "latest") {
		t.Errorf("an unbounded list claims a bound:\n%s", view)
	}
}

// One key cycles the list through trigger filters, named in the header.
func TestTriggerFilterCycles(t *testing.T) {
	t.Parallel()
	snap := viewtest.Loaded()
	snap.Runs.Finished = append(snap.Runs.Finished,
		api.Run{ID: 90, DAG: "demo/events", State: api.RunSuccess, Trigger: "sensor", Batch: "events/0/1-9"},
		api.Run{ID: 91, DAG: "demo/events", State: api.RunSuccess, Trigger: "sensor", Batch: "events/0/10-19"})
	m := newPane(t, snap)
	triggers := func() map[string]int {
		got := map[string]int{}
		for _, r := range m.rows {
			if r.kind == rowRun {
				got[m.runAt(r).Trigger]++
			}
		}
		return got
	}
	all := triggers()
	if all["sensor"] != 2 || all["schedule"] == 0 || all["manual"] == 0 {
		t.Fatalf("unfiltered triggers %v", all)
	}
	for _, step := range []struct {
		label      string
		only, none string
	}{
		{"not sensor", "", "sensor"},
		{"schedule", "schedule", ""},
		{"sensor", "sensor", ""},
		{"manual", "manual", ""},
		{"backfill", "backfill", ""},
	} {
		press(m, "T")
		got := triggers()
		for tr, n := range got {
			if (step.only != "" && tr != step.only) || tr == step.none {
				t.Errorf("filter %q shows %d %s runs", step.label, n, tr)
			}
		}
		if step.only != "" && got[step.only] != all[step.only] {
			t.Errorf("filter %q shows %d of %d runs", step.label, got[step.only], all[step.only])
		}
		if !strings.Contains(m.View(), "trigger: "+step.label) {
			t.Errorf("header does not name the filter %q:\n%s", step.label, m.View())
		}
	}
	press(m, "T")
	if got := triggers(); len(got) != len(all) || strings.Contains(m.View(), "trigger:") {
		t.Errorf("the cycle does not come back to every run: %v", got)
	}
}

// rerunner is an engine API whose re-runs are already queued as run 31.
type rerunner struct{ api.API }

func (rerunner) Rerun(_ context.Context, id int64, _ api.RerunOptions) (int64, error) {
	return 31, fmt.Errorf("run %d: %w by run 31", id, api.ErrRerunPending)
}

// Clearing (or re-running) a run already being re-run says which run
// carries it, not that a new run was queued.
func TestRerunAlreadyPendingNamesTheRun(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"R", "C"} {
		run := &api.Run{ID: 10, DAG: "demo/flaky", State: api.RunFailed}
		m := newPane(t, viewtest.Loaded())
		a := m.rerun(run, k == "C")().(common.ActionRequestedMsg).Action
		text, err := a.Do(context.Background(), rerunner{})
		if err != nil || text != "run #31 already re-runs #10: nothing new queued" {
			t.Errorf("%s: result %q, %v", k, text, err)
		}
	}
}

// A run's details offer what applies to it: cancel while it runs, re-run
// (and clear, unless it succeeded) once it finished.
func TestDetailFooterOffersWhatApplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id         int64
		want, none []string
	}{
		{12, []string{"cancel run"}, []string{"re-run", "clear from failed"}},
		{11, []string{"re-run"}, []string{"cancel run", "clear from failed"}},
		{10, []string{"re-run", "clear from failed"}, []string{"cancel run"}},
	} {
		m := newPane(t, viewtest.Loaded())
		m.openDetail(m.findRun(tc.id))
		var help []string
		for _, b := range m.ShortHelp() {
			help = append(help, b.Help().Desc)
		}
		got := strings.Join(help, ", ")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("run #%d: footer %q lacks %q", tc.id, got, w)
			}
		}
		for _, n := range tc.none {
			if strings.Contains(got, n) {
				t.Errorf("run #%d: footer %q offers %q", tc.id, got, n)
			}
		}
	}
}
