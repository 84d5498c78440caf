package review

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func helpKeys(bs []key.Binding) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Help().Key)
	}
	return strings.Join(out, " ")
}

func fullHelpKeys(groups [][]key.Binding) string {
	var out []string
	for _, g := range groups {
		out = append(out, helpKeys(g))
	}
	return strings.Join(out, " ")
}

// The footer and the help offer approve and reject only where the engine
// accepts them: a pull request already open offers neither.
func TestActionKeysFollowTheState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		state           api.ReviewState
		approve, reject bool
	}{
		{api.ReviewStaged, true, true},
		{api.ReviewFailed, true, true},
		{api.ReviewApproved, true, true},
		{api.ReviewBlocked, false, true},
		{api.ReviewPROpen, false, false},
		{api.ReviewPushed, false, false},
		{api.ReviewArchived, false, false},
		{api.ReviewRejected, false, false},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			t.Parallel()
			snap := viewtest.Reviews()
			snap.Reviews[0].State = tc.state
			m := newPane(t, snap, true, 80, 24)
			check := func(where, keys string) {
				t.Helper()
				has := func(k string) bool { return strings.Contains(" "+keys+" ", " "+k+" ") }
				if has("a") != tc.approve || has("x") != tc.reject {
					t.Errorf("%s offers %q; want approve %v reject %v", where, keys, tc.approve, tc.reject)
				}
			}
			check("list footer", helpKeys(m.ShortHelp()))
			check("list help", fullHelpKeys(m.FullHelp()))
			press(m, "enter")
			check("item footer", helpKeys(m.ShortHelp()))
			check("item help", fullHelpKeys(m.FullHelp()))
		})
	}
}

// An archive item says what approval does, did or would have done.
func TestArchiveWordingByState(t *testing.T) {
	t.Parallel()
	for state, want := range map[api.ReviewState]string{
		api.ReviewStaged:   "approving archives these reports",
		api.ReviewArchived: "these reports were archived",
		api.ReviewRejected: "these reports stay as they are",
	} {
		snap := viewtest.Reviews()
		snap.Reviews = snap.Reviews[2:3] // the archive item
		snap.Reviews[0].State = state
		m := newPane(t, snap, true, 100, 40)
		press(m, "enter")
		screen := m.View()
		if !strings.Contains(screen, want) {
			t.Errorf("%s: no %q in\n%s", state, want, screen)
		}
		if state != api.ReviewStaged && strings.Contains(screen, "approving archives") {
			t.Errorf("%s still says approving archives:\n%s", state, screen)
		}
	}
}

// Models show their centrality as a percentile; reports, which have no
// importance, get no column of zeros.
func TestSubjectTableImportance(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 100, 40)
	press(m, "enter")
	screen := m.View()
	if !strings.Contains(screen, "CENTRALITY") || !strings.Contains(screen, "1.2% legacy_orders") {
		t.Errorf("the deprecation item shows no centrality percentile:\n%s", screen)
	}
	press(m, "esc", "j", "j", "enter") // the archive item
	screen = m.View()
	if !strings.Contains(screen, "Reports (3)") || strings.Contains(screen, "CENTRALITY") || strings.Contains(screen, "IMPORTANCE") || strings.Contains(screen, "0.0000") {
		t.Errorf("the archive item shows an importance column:\n%s", screen)
	}
}

// The item lists its files; f opens the list, enter jumps to the chosen
// file in the diff; n from the list view opens the item at its first file.
func TestFileListJumps(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 100, 30)
	press(m, "enter")
	screen := m.View()
	for _, f := range []string{"Files (3)", "models/marts/legacy_orders.sql", "models/marts/schema.yml", "models/staging/stg_old_events.sql"} {
		if !strings.Contains(screen, f) {
			t.Errorf("the item shows no %q:\n%s", f, screen)
		}
	}
	press(m, "f")
	if m.mode != modeFiles {
		t.Fatalf("f opened mode %d, not the file list", m.mode)
	}
	press(m, "j", "j", "enter")
	screen = m.View()
	first := strings.SplitN(screen, "\n", 3)
	if m.mode != modeItem || !strings.Contains(first[0], "file 3/3") || !strings.Contains(first[1], "diff --git a/models/staging/stg_old_events.sql") {
		t.Errorf("enter on the third file shows:\n%s", screen)
	}

	m = newPane(t, viewtest.Reviews(), true, 100, 30)
	press(m, "n")
	if first := strings.SplitN(m.View(), "\n", 2)[0]; m.mode != modeItem || !strings.Contains(first, "file 1/3") {
		t.Errorf("n in the list opened %d at %q", m.mode, first)
	}
	if !strings.Contains(fullHelpKeys(newPane(t, viewtest.Reviews(), true, 100, 30).FullHelp()), "n N") {
		t.Error("the list view's help does not show n/N")
	}
}

// Long reasons wrap under their column; long diff lines scroll sideways.
func TestLongReasonsWrapAndDiffScrollsSideways(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	it := &snap.Reviews[0]
	it.Subjects[0].Reason = "not run for 94 days; no exposure depends on it; its only child is legacy_customers, itself unused since March"
	it.Diff += "diff --git a/models/wide.sql b/models/wide.sql\n--- a/models/wide.sql\n+++ b/models/wide.sql\n@@ -1 +1 @@\n-select " + strings.Repeat("x, ", 40) + "END_OF_LINE\n+select 1\n"
	m := newPane(t, snap, true, 80, 60)
	press(m, "enter")
	screen := m.View()
	if !strings.Contains(screen, "since March") {
		t.Errorf("the long reason is cut:\n%s", screen)
	}
	press(m, "G")
	screen = m.View()
	if !strings.Contains(screen, "select x, x,") || strings.Contains(screen, "END_OF_LINE") {
		t.Fatalf("the wide line is not drawn cut:\n%s", screen)
	}
	for range 10 {
		press(m, "l")
	}
	screen = m.View()
	if !strings.Contains(screen, "END_OF_LINE") || !strings.Contains(screen, "col 65 (h)") {
		t.Errorf("l does not scroll the diff sideways:\n%s", screen)
	}
	for range 20 {
		press(m, "h")
	}
	if m.side != 0 {
		t.Errorf("h stops at %d, not the left edge", m.side)
	}
}

// Reject asks for a reason in its dialog and hands it to the engine; a
// rejected item shows the reason and its history.
func TestRejectReasonAskedAndShown(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 100, 60)
	x := action(t, press(m, "x"))
	if x.Input == "" || x.DoInput == nil {
		t.Fatalf("reject asks no reason: %+v", x)
	}
	stub := &stubAPI{snap: viewtest.Reviews()}
	if _, err := x.DoInput(context.Background(), stub, "kept for finance"); err != nil {
		t.Fatal(err)
	}
	if len(stub.reasons) != 1 || stub.reasons[0] != "kept for finance" {
		t.Errorf("reasons %q", stub.reasons)
	}

	snap := viewtest.Reviews()
	it := &snap.Reviews[3] // #4, rejected
	it.RejectReason = "kept for finance"
	it.History = []api.ReviewEvent{
		{At: it.CreatedAt, State: api.ReviewStaged, Note: "staged from 9c1d2e7"},
		{At: it.UpdatedAt, State: api.ReviewRejected, Note: "rejected: kept for finance; deleted local branch sluice/deprecate-20250520-0b1d"},
	}
	m = newPane(t, snap, true, 100, 60)
	press(m, "G", "enter")
	screen := m.View()
	for _, want := range []string{"rejected because kept for finance", "History (2)", "staged from 9c1d2e7", "rejected: kept for finance"} {
		if !strings.Contains(screen, want) {
			t.Errorf("no %q in\n%s", want, screen)
		}
	}
}

// An item that remembers a GitHub endpoint from staging shows it.
func TestRememberedEndpointShown(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Reviews[0].GitHubAPI = "http://127.0.0.1:41234/"
	m := newPane(t, snap, true, 120, 60)
	press(m, "enter")
	if screen := m.View(); !strings.Contains(screen, "staged with GitHub API http://127.0.0.1:41234/ · approving uses the current configuration") {
		t.Errorf("the remembered endpoint is not shown:\n%s", screen)
	}
}
