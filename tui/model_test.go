package tui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// Every pane in its empty, loaded and error state, on the smallest
// supported terminal.
func TestPanes(t *testing.T) {
	states := []struct {
		name string
		snap func() *api.Snapshot
	}{
		{"empty", viewtest.Empty},
		{"loaded", viewtest.Loaded},
		{"error", viewtest.Failing},
	}
	panes := []struct {
		name string
		key  string
	}{{"dags", "1"}, {"runs", "2"}, {"kafka", "3"}, {"review", "4"}, {"logs", "5"}}
	for _, p := range panes {
		for _, s := range states {
			t.Run(p.name+"_"+s.name, func(t *testing.T) {
				c := start(t, s.snap(), 80, 24)
				c.keys(p.key)
				screen := c.final()
				checkFrame(t, screen, 80, 24)
				requireGolden(t, screen)
			})
		}
	}
}

func TestWideLayout(t *testing.T) {
	for _, tc := range []struct {
		name          string
		width, height int
		keys          []string
		want          []string
	}{
		{"grid", 160, 44, nil, []string{"▶ 1 DAGs", "2 Runs", "3 Kafka", "4 Review", "5 Logs"}},
		{"grid_logs_focused", 160, 44, []string{"L"}, []string{"▶ 5 Logs"}},
		{"zoomed_runs", 160, 44, []string{"2", "z"}, []string{"▶ 2 Runs", "zoomed"}},
		{"threshold", 140, 34, nil, []string{"▶ 1 DAGs", "5 Logs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t, viewtest.Loaded(), tc.width, tc.height)
			c.keys(tc.keys...)
			screen := c.final()
			checkFrame(t, screen, tc.width, tc.height)
			for _, w := range tc.want {
				if !strings.Contains(screen, w) {
					t.Errorf("screen lacks %q", w)
				}
			}
			requireGolden(t, screen)
		})
	}
}

// Resizing live: every size from the minimum up fills the terminal exactly,
// and the layout switches between tabs and the grid.
func TestResize(t *testing.T) {
	m, _ := newModel(t, viewtest.Loaded())
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
	for _, sz := range []struct {
		w, h int
		wide bool
	}{{80, 24, false}, {100, 30, false}, {139, 50, false}, {140, 34, true}, {200, 60, true}, {160, 33, false}, {80, 24, false}, {60, 16, false}} {
		m.Update(tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
		if m.lay.wide != sz.wide {
			t.Errorf("%dx%d: wide = %v, want %v", sz.w, sz.h, m.lay.wide, sz.wide)
		}
		for pane := range paneCount {
			m.focus = pane
			checkFrame(t, m.View(), sz.w, sz.h)
		}
	}
}

func TestFocusKeys(t *testing.T) {
	m, _ := newModel(t, viewtest.Loaded())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	steps := []struct {
		key  string
		want int
	}{
		{"tab", PaneRuns}, {"tab", PaneKafka}, {"shift+tab", PaneRuns}, {"4", PaneReview},
		{"tab", PaneLogs}, {"tab", PaneDAGs}, {"shift+tab", PaneLogs}, {"1", PaneDAGs},
		{"3", PaneKafka}, {"L", PaneLogs}, {"2", PaneRuns}, {"5", PaneLogs},
	}
	for i, s := range steps {
		m.Update(keyMsg(s.key))
		if m.Focused() != s.want {
			t.Fatalf("step %d (%s): focus %d, want %d", i, s.key, m.Focused(), s.want)
		}
	}
	// While a filter is typed, digits and q are text, not pane keys.
	m.Update(keyMsg("1"))
	m.Update(keyMsg("/"))
	m.Update(keyMsg("2"))
	m.Update(keyMsg("q"))
	if m.Focused() != PaneDAGs || m.quitting {
		t.Fatalf("keys typed into the filter moved focus (%d) or quit (%v)", m.Focused(), m.quitting)
	}
	if !strings.Contains(m.View(), "/ 2q") {
		t.Fatalf("filter line does not show the typed text:\n%s", m.View())
	}
}

func TestFilterIsLive(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("/", "f", "l", "a")
	c.waitFor("/ fla", "flaky")
	c.keys("k", "y", "enter")
	c.waitFor("filter: flaky")
	screen := c.final()
	if strings.Contains(screen, "fanout") || strings.Contains(screen, "daily_etl") {
		t.Errorf("filtered tree still shows other DAGs:\n%s", screen)
	}
	requireGolden(t, screen, "filtered")
}

func TestFilterEscClears(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("/", "z", "z", "z")
	c.waitFor("no DAG matches the filter")
	c.keys("esc")
	c.waitFor("fanout")
	screen := c.final()
	if strings.Contains(screen, "filter") && strings.Contains(screen, "zzz") {
		t.Errorf("esc left the filter:\n%s", screen)
	}
}

func TestDAGDetails(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("j", "j", "enter")
	c.waitFor("checksum", "9f2c1e0a7b")
	screen := c.final()
	for _, want := range []string{"demo/fanout", "[active]", "/srv/sluice/dags/demo/fanout.json", "@every 10s", "12:00:08 (in 8s)", "join", "← a, b, c"} {
		if !strings.Contains(screen, want) {
			t.Errorf("details lack %q", want)
		}
	}
	requireGolden(t, screen, "active_dag")
}

func TestInvalidDAGDetailsShowErrorsAndLastGood(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	// local, demo/, fanout + 5 tasks, flaky + 2 tasks, production/, daily_etl
	for range 12 {
		c.keys("j")
	}
	c.keys("enter")
	c.waitFor("last good version")
	screen := c.final()
	for _, want := range []string{"production/daily_etl", "[invalid: last good kept]", "a local task needs a command"} {
		if !strings.Contains(screen, want) {
			t.Errorf("details lack %q:\n%s", want, screen)
		}
	}
	requireGolden(t, screen, "invalid_dag")
}

func TestDetailsEscBack(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("j", "j", "enter")
	c.waitFor("checksum")
	c.keys("esc")
	c.waitFor("production/")
	screen := c.final()
	if strings.Contains(screen, "checksum") {
		t.Errorf("esc did not go back to the tree:\n%s", screen)
	}
}

func TestTriggerConfirm(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("j", "j", "t")
	c.waitFor("Trigger a run of demo/fanout now?")
	c.keys("n")
	c.waitGone("Trigger a run")
	if tr, _ := c.f.calls(); len(tr) != 0 {
		t.Fatalf("n triggered %v", tr)
	}
	c.keys("t")
	c.waitFor("Trigger a run")
	c.keys("y")
	c.waitFor("queued run #101 of demo/fanout")
	screen := c.final()
	if tr, _ := c.f.calls(); !slices.Equal(tr, []string{"demo/fanout"}) {
		t.Fatalf("triggered %v, want [demo/fanout]", tr)
	}
	requireGolden(t, screen, "result_toast")
}

func TestTriggerDialogGolden(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("j", "j", "t")
	c.waitFor("Trigger a run of demo/fanout now?")
	screen := c.final()
	checkFrame(t, screen, 80, 24)
	requireGolden(t, screen, "dialog")
}

// The cancel dialog defaults to No: enter on a reflex cancels nothing.
func TestCancelConfirmDefaultsNo(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	// Runs pane: Queued header, #14, #15, Running header, #12.
	c.keys("2", "j", "j", "j", "j", "c")
	c.waitFor("Cancel run #12 of demo/flaky?", "> No <")
	c.keys("enter")
	c.waitGone("Cancel run #12")
	if _, cancelled := c.f.calls(); len(cancelled) != 0 {
		t.Fatalf("enter on the default cancelled %v", cancelled)
	}
	c.keys("c")
	c.waitFor("> No <")
	c.keys("left")
	c.waitFor("> Yes <")
	c.keys("enter")
	c.waitFor("cancelled run #12 of demo/flaky")
	c.final()
	if _, cancelled := c.f.calls(); !slices.Equal(cancelled, []int64{12}) {
		t.Fatalf("cancelled %v, want [12]", cancelled)
	}
}

func TestCancelErrorToast(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.f.mu.Lock()
	// As the engine words it (api.API): the toast adds nothing.
	c.f.cancelErr = errors.New("cancelling run 14: run already finished")
	c.f.mu.Unlock()
	// Headers are passed over: the cursor starts on the first run.
	c.keys("2", "c")
	c.waitFor("Cancel queued run #14")
	c.keys("y")
	screen := c.waitFor("error: cancelling run 14: run already finished")
	if n := strings.Count(screen, "cancelling run"); n != 1 {
		t.Errorf("the error names the operation %d times:\n%s", n, screen)
	}
	c.final()
}

func TestCancelFinishedRunRefused(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("2", "G", "c")
	c.waitFor("run #9 already cancelled")
	c.final()
}

func TestRescanSpinnerThenToast(t *testing.T) {
	m, f := newModel(t, viewtest.Loaded())
	gate := make(chan struct{})
	f.scanGate = gate
	f.scanResult = api.ScanResult{Sources: 2, Duration: 14 * time.Millisecond, Changed: 1, Invalid: 1}
	c := startModel(t, m, f, 80, 24)
	c.keys("r")
	c.waitFor("scanning sources…")
	c.keys("r")
	c.waitFor("a rescan is already running")
	close(gate)
	c.waitFor("scanned 2 sources in 14 ms: 1 changed, 1 invalid")
	screen := c.final()
	if strings.Contains(screen, "scanning sources") {
		t.Errorf("spinner still shown after the scan:\n%s", screen)
	}
	requireGolden(t, screen, "result_toast")
}

func TestRescanFailure(t *testing.T) {
	m, f := newModel(t, viewtest.Loaded())
	f.scanErr = errors.New("listing s3://sluice-demo/dags/: connection refused")
	c := startModel(t, m, f, 80, 24)
	c.keys("r")
	c.waitFor("error: rescan failed: listing s3://sluice-demo/dags/: connection refused")
	c.final()
}

func TestScanSummary(t *testing.T) {
	for _, tc := range []struct {
		res  api.ScanResult
		want string
	}{
		{api.ScanResult{Sources: 2, Duration: 14 * time.Millisecond, Changed: 1, Invalid: 1}, "scanned 2 sources in 14 ms: 1 changed, 1 invalid"},
		{api.ScanResult{Sources: 1, Duration: 3 * time.Millisecond}, "scanned 1 source in 3 ms: 0 changed, 0 invalid"},
		{api.ScanResult{Sources: 2, Duration: time.Second, Failed: 1}, "scanned 2 sources in 1000 ms: 0 changed, 0 invalid, 1 failed"},
		{api.ScanResult{Sources: 1, Duration: time.Millisecond, Changed: 1, ChangedDAGs: []string{"demo/fanout"}},
			"scanned 1 source in 1 ms: 1 changed (demo/fanout), 0 invalid"},
		{api.ScanResult{Sources: 1, Duration: time.Millisecond, Changed: 6, Invalid: 1, ChangedDAGs: []string{"a", "b", "c", "d", "e"}},
			"scanned 1 source in 1 ms: 6 changed (a, b, c +2 more), 1 invalid"},
	} {
		if got := ScanSummary(tc.res); got != tc.want {
			t.Errorf("ScanSummary(%+v) = %q, want %q", tc.res, got, tc.want)
		}
	}
}

func TestQuitWithRunsInFlightAsks(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("q")
	// What quitting does to them, as runner.Stop does it: killed and
	// failed as interrupted, not "cancelled".
	screen := c.waitFor("2 run(s) in flight. Quit anyway?", "killed", "(interrupted)", "retry_on_crash")
	if strings.Contains(screen, "cancels") {
		t.Errorf("the quit prompt says the runs are cancelled:\n%s", screen)
	}
	c.keys("n")
	c.waitGone("in flight")
	if c.m.quitting {
		t.Fatal("n quit")
	}
	c.keys("ctrl+c")
	c.waitFor("in flight")
	c.keys("y")
	c.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if !c.m.quitting {
		t.Fatal("y did not quit")
	}
}

func TestQuitWhenIdleIsImmediate(t *testing.T) {
	c := start(t, viewtest.Empty(), 80, 24)
	c.keys("q")
	c.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if !c.m.quitting {
		t.Fatal("q did not quit an idle console")
	}
}

func TestHelpScreen(t *testing.T) {
	c := start(t, viewtest.Loaded(), 100, 30)
	c.keys("?")
	c.waitFor("Keys · DAGs pane and global")
	screen := c.final()
	for _, want := range []string{"trigger", "filter", "rescan", "next pane", "quit"} {
		if !strings.Contains(screen, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	requireGolden(t, screen, "dags_pane")
}

func TestFooterFollowsFocus(t *testing.T) {
	m, _ := newModel(t, viewtest.Loaded())
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
	footer := func() string { lines := strings.Split(m.View(), "\n"); return lines[len(lines)-1] }
	if f := footer(); !strings.Contains(f, "trigger") || strings.Contains(f, "cancel run") {
		t.Errorf("DAG pane footer: %q", f)
	}
	m.Update(keyMsg("2"))
	if f := footer(); !strings.Contains(f, "cancel run") || strings.Contains(f, "t trigger") {
		t.Errorf("run pane footer: %q", f)
	}
}

// An engine change reaches the screen through Subscribe + Snapshot.
func TestEngineEventRedraws(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("2")
	c.waitFor("Queued (2)")
	next := viewtest.Loaded()
	next.Runs.Finished = append([]api.Run{{ID: 12, DAG: "demo/flaky", State: api.RunSuccess, Trigger: "schedule",
		StartedAt: viewtest.Now.Add(-8 * time.Second), FinishedAt: viewtest.Now}}, next.Runs.Finished...)
	next.Runs.Running = next.Runs.Running[1:]
	c.f.publish(next, api.TopicRuns)
	c.waitFor("Finished (4)", "success")
	c.final()
}

// The run detail follows the run live: new log lines appear as the
// engine publishes them.
func TestRunDetailFollowsLive(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("2", "j", "j", "j", "j", "enter")
	c.waitFor("run #12 demo/flaky", "following", "attempt 2: sleeping 1s")
	next := viewtest.Loaded()
	run := &next.Runs.Running[0]
	run.Tasks[1].LogTail += "attempt 2: done\n"
	run.Tasks[1].State, run.State, run.Done = api.TaskSuccess, api.RunSuccess, 2
	run.FinishedAt = viewtest.Now
	next.Runs.Finished = append([]api.Run{*run}, next.Runs.Finished...)
	next.Runs.Running = next.Runs.Running[1:]
	c.f.publish(next, api.TopicRuns)
	c.waitFor("attempt 2: done", "[success]")
	screen := c.final()
	requireGolden(t, screen, "finished")
}

func TestLogsFilter(t *testing.T) {
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("5", "/")
	c.tm.Type("attempt failed")
	c.waitFor("1 of 5 records")
	screen := c.final()
	if !strings.Contains(screen, "task attempt failed") || strings.Contains(screen, "scanned source") {
		t.Errorf("log filter:\n%s", screen)
	}
}

// Lists render only their window: the cursor can reach the last of 10,000
// rows and the frame still fits the terminal.
func TestLargeListsScroll(t *testing.T) {
	m, _ := newModel(t, viewtest.Large(10000, 10000))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Large(10000, 10000), Topics: common.AllTopics})
	m.Update(keyMsg("G"))
	screen := m.View()
	checkFrame(t, screen, 80, 24)
	if !strings.Contains(screen, "dag09999") {
		t.Errorf("G did not reach the last DAG:\n%s", screen)
	}
	m.Update(keyMsg("2"))
	m.Update(keyMsg("G"))
	if screen := m.View(); !strings.Contains(screen, fmt.Sprintf("#%d", 10000)) {
		t.Errorf("G did not reach the last run:\n%s", screen)
	}
}

func TestFoldSource(t *testing.T) {
	m, _ := newModel(t, viewtest.Loaded())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
	m.Update(keyMsg("space"))
	screen := m.View()
	if strings.Contains(screen, "fanout") || !strings.Contains(screen, "▸ local") || !strings.Contains(screen, "hourly") {
		t.Errorf("space did not fold the local source:\n%s", screen)
	}
}

// An event may carry a snapshot whose DAGs or runs changed before their own
// topic was announced (the engine re-reads everything on every Snapshot).
// The panes must not index the new snapshot with the old rows.
func TestUnannouncedChangesAreSafe(t *testing.T) {
	m, _ := newModel(t, viewtest.Loaded())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 50})
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
	next := viewtest.Loaded()
	next.DAGs[2].Errors = nil // daily_etl mended
	next.DAGs[4].Errors = next.DAGs[4].Errors[:1]
	next.Runs.Running[1].Tasks = next.Runs.Running[1].Tasks[:2]
	next.Runs.Running[0], next.Runs.Running[1] = next.Runs.Running[1], next.Runs.Running[0]
	m.Update(common.SnapshotUpdatedMsg{Snap: next, Topics: api.TopicLogs})
	for pane := range paneCount {
		m.focus = pane
		checkFrame(t, m.View(), 100, 50)
	}
	m.focus = PaneDAGs
	if strings.Contains(m.View(), "a local task needs a command") {
		t.Error("the tree still shows the mended file's error")
	}
}

func TestRunDetailFailed(t *testing.T) {
	c := start(t, viewtest.Failing(), 80, 24)
	// The cursor passes over the empty sections' headers to #21.
	c.keys("2", "enter")
	screen := c.waitFor("run #21 demo/flaky", "[failed]", "simulated failure 3 of 3", "attempt 3: failing on purpose")
	c.final()
	requireGolden(t, screen, "failed_run")
}

// A theme built for a terminal without colour (NO_COLOR, TERM=dumb: an
// ASCII profile) emits no colour, only text; one built for a colour terminal
// does — whatever lipgloss's global renderer says (ASCII in these tests).
func TestNoColorEmitsNoColour(t *testing.T) {
	t.Parallel()
	render := func(noColor bool) string {
		st := styles.ForProfile(termenv.TrueColor)
		if noColor {
			st = styles.ForProfile(termenv.Ascii)
		}
		f := newFakeEngine(viewtest.Loaded())
		m := New(context.Background(), f, Options{Styles: st, Clock: viewtest.Clock, ClockInterval: -1})
		defer m.Close()
		m.Update(tea.WindowSizeMsg{Width: 160, Height: 44})
		m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
		return m.View()
	}
	colour := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]`)
	if !colour.MatchString(render(false)) {
		t.Fatal("the colour theme emitted no colour: the check below would prove nothing")
	}
	if plain := render(true); colour.MatchString(plain) {
		t.Fatalf("NO_COLOR output has colour codes: %q", colour.FindString(plain))
	}
}
