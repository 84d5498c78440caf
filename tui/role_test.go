package tui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The role sits at the right end of the status line and survives a line
// too short for both it and the summary; without a role the line is as
// before.
func TestRoleOnStatusLine(t *testing.T) {
	t.Parallel()
	const role = "victor · viewer (read only)"
	tests := []struct {
		name        string
		role        string
		width       int
		wantSummary bool
	}{
		{"wide", role, 160, true},
		{"narrow: the summary gives way", role, 40, false},
		{"no role", "", 160, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := viewtest.Loaded()
			f := newFakeEngine(snap)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m := New(ctx, f, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1, Who: tt.role})
			defer m.Close()
			// Sized wide first: startModel waits for the whole summary.
			c := startModel(t, m, f, 160, 30)
			c.tm.Send(tea.WindowSizeMsg{Width: tt.width, Height: 30})
			screen := c.screen()
			checkFrame(t, screen, tt.width, 30)
			lines := strings.Split(screen, "\n")
			status := lines[len(lines)-2]
			if tt.role != "" && !strings.HasSuffix(strings.TrimRight(status, " "), tt.role) {
				t.Errorf("status line does not end with the role: %q", status)
			}
			if tt.role == "" && strings.Contains(screen, "viewer") {
				t.Errorf("a role shows without one: %q", status)
			}
			sum := strings.Split(summary(snap), " · ")[0]
			if got := strings.Contains(status, sum); got != tt.wantSummary {
				t.Errorf("summary %q shown: %v, want %v: %q", sum, got, tt.wantSummary, status)
			}
		})
	}
}

// viewerRefusals is what sshserve.RefusedKeys gives a viewer (tui may not
// import the server): every action key, with access's reason.
func viewerRefusals() map[Action]string {
	refused := map[Action]string{}
	for k, a := range map[Action]access.Action{ActionTrigger: access.ActionTrigger, ActionCancel: access.ActionCancel,
		ActionRunMeta: access.ActionRunMeta, ActionApprove: access.ActionApprove, ActionReject: access.ActionReject,
		ActionTakeOut: access.ActionExclude, ActionUndo: access.ActionUnreject,
		ActionPauseSensor: access.ActionPauseSensor, ActionRerun: access.ActionRerun, ActionClear: access.ActionRerun,
		ActionPauseDAG: access.ActionPauseDAG, ActionPinDAG: access.ActionPinDAG, ActionUnpinDAG: access.ActionUnpinDAG,
		ActionTriggerConfig: access.ActionTrigger, ActionBackfill: access.ActionBackfill,
		ActionCancelBackfill: access.ActionCancelBackfill, ActionMark: access.ActionMark,
		ActionResetOffsets: access.ActionResetOffsets} {
		refused[k] = (&access.ForbiddenError{Role: access.Viewer, Action: a}).Error()
	}
	return refused
}

// newViewer is a console for a viewer over an engine restricted as the SSH
// server restricts it.
func newViewer(t *testing.T, snap *api.Snapshot, remote bool) (*Model, *fakeEngine) {
	t.Helper()
	f := newFakeEngine(snap)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, access.Restrict(f, access.Viewer), Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1,
		Refused: viewerRefusals(), Who: "victor · viewer (read only)", Remote: remote})
	t.Cleanup(m.Close)
	return m, f
}

// A viewer is not offered what it may not do: no action key in any pane's
// footer or help, while an operator's console offers them all.
func TestViewerIsNotOfferedActions(t *testing.T) {
	t.Parallel()
	panes := []struct {
		key     string
		actions []string // what an operator is offered there
		inHelp  []string // … in the help overlay only
	}{
		{"1", []string{"t trigger"}, []string{"T trigger with config", "B backfill"}},
		{"2", []string{"c cancel run"}, []string{"M mark run"}},
		{"3", []string{"p pause/resume"}, nil},
		// u "undo reject" shows only after a rejection in this session.
		{"4", []string{"a approve", "x reject", "m run metapipeline"}, nil},
		// An open staged deprecation: its header and help offer the
		// take-out keys.
		{"4 enter", []string{"a approve", "space take out/put back"}, []string{"undo take-out"}},
	}
	// The footer and the help overlay themselves: the panes' text may
	// well say "trigger".
	render := func(m *Model, pane string, help bool) string {
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
		m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Reviews(), Topics: common.AllTopics})
		for _, k := range strings.Fields(pane) {
			m.Update(keyMsg(k))
		}
		out := m.shortHelp()
		if help {
			out = m.fullHelpView()
		}
		if strings.Contains(pane, " ") {
			out += m.View() // an open item's header says its keys too
		}
		return out
	}
	for _, p := range panes {
		t.Run("pane "+p.key, func(t *testing.T) {
			t.Parallel()
			op, _ := newModel(t, viewtest.Reviews())
			vw, _ := newViewer(t, viewtest.Reviews(), true)
			for _, help := range []bool{false, true} {
				opScreen, vwScreen := render(op, p.key, help), render(vw, p.key, help)
				if help && !strings.Contains(vwScreen, "Keys ·") {
					t.Fatalf("no help overlay:\n%s", vwScreen)
				}
				actions := p.actions
				if help {
					actions = append(slices.Clone(actions), p.inHelp...)
				}
				for _, a := range actions {
					if !strings.Contains(opScreen, a) {
						t.Fatalf("operator (help %v) is not offered %q: the check below would prove nothing:\n%s", help, a, opScreen)
					}
					if strings.Contains(vwScreen, a) {
						t.Errorf("viewer (help %v) is offered %q:\n%s", help, a, vwScreen)
					}
				}
				if !strings.Contains(vwScreen, "? help") && !help {
					t.Errorf("viewer footer lost the global keys:\n%s", vwScreen)
				}
			}
		})
	}
}

// A viewer's action key is refused at once with the reason: no dialog, and
// nothing reaches the engine.
func TestViewerActionKeyRefusedAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		keys []string
		want string
	}{
		{"trigger", []string{"j", "j", "t"}, "viewers cannot trigger runs"},
		{"cancel", []string{"2", "j", "j", "j", "j", "c"}, "viewers cannot cancel runs"},
		{"approve", []string{"4", "a"}, "viewers cannot approve reviews"},
		{"reject", []string{"4", "x"}, "viewers cannot reject reviews"},
		{"metapipeline", []string{"4", "m"}, "viewers cannot run the metapipeline"},
		{"undo reject", []string{"4", "u"}, "viewers cannot undo review rejections"},
		{"take out", []string{"4", "enter", "space"}, "viewers cannot change what a review proposes"},
		{"undo take-out", []string{"4", "enter", "u"}, "viewers cannot undo review rejections"},
		{"pause dag", []string{"j", "j", "P"}, "viewers cannot pause dags"},
		{"pin version", []string{"j", "j", "v", "p"}, "viewers cannot pin dag versions"},
		{"unpin", []string{"j", "j", "v", "u"}, "viewers cannot unpin dags"},
		{"trigger with config", []string{"j", "j", "T"}, "viewers cannot trigger runs"},
		{"backfill", []string{"j", "j", "B"}, "viewers cannot backfill dags"},
		{"mark", []string{"2", "G", "M"}, "viewers cannot mark runs"},
		{"reset offsets", []string{"3", "O"}, "viewers cannot reset consumer group offsets"},
		{"pause sensor", []string{"3", "p"}, "viewers cannot pause sensors"},
		{"re-run", []string{"2", "G", "R"}, "viewers cannot re-run runs"},
		{"clear from failed", []string{"2", "G", "C"}, "viewers cannot re-run runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, f := newViewer(t, viewtest.Loaded(), true)
			c := startModel(t, m, f, 160, 45)
			c.keys(tc.keys...)
			screen := c.waitFor(tc.want)
			if strings.Contains(screen, "> No <") || m.confirm != nil {
				t.Errorf("a confirmation opened before the refusal:\n%s", screen)
			}
			c.final()
			if tr, cancelled := f.calls(); len(tr) != 0 || len(cancelled) != 0 {
				t.Errorf("a refused key reached the engine: triggered %v, cancelled %v", tr, cancelled)
			}
		})
	}
	// A key the focused pane has no use for is not "refused": the logs
	// pane has nothing to approve, for an operator or a viewer.
	t.Run("not in this pane", func(t *testing.T) {
		t.Parallel()
		m, f := newViewer(t, viewtest.Loaded(), true)
		c := startModel(t, m, f, 160, 45)
		c.keys("5", "a")
		c.keys("?") // a message after the key: once help shows, "a" was handled
		screen := c.waitFor("Keys · Logs pane")
		if strings.Contains(screen, "cannot") {
			t.Errorf("refused a key the pane does not use:\n%s", screen)
		}
	})
}

// Over SSH quitting closes only the session: the prompt must not say the
// engine stops and cancels the runs.
func TestRemoteQuitSaysOnlyTheSessionCloses(t *testing.T) {
	t.Parallel()
	m, f := newViewer(t, viewtest.Loaded(), true)
	c := startModel(t, m, f, 160, 45)
	c.keys("q")
	screen := c.waitFor("2 run(s) in flight. Quit anyway?", "Only this session closes")
	if strings.Contains(screen, "engine stops") || strings.Contains(screen, "cancels them") {
		t.Errorf("a remote quit says the engine stops:\n%s", screen)
	}
	c.keys("y")
	c.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if !m.quitting {
		t.Fatal("y did not quit")
	}
}
