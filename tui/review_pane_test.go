package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The review pane's list in each state, small and wide.
func TestReviewPane(t *testing.T) {
	for _, tc := range []struct {
		name          string
		snap          func() *api.Snapshot
		width, height int
		keys          []string
		want          []string
	}{
		{"empty", viewtest.Empty, 80, 24, nil, []string{"no review items — the metapipeline is not configured", "--manifest PATH (or DBT_MANIFEST=PATH)"}},
		{"empty_configured", func() *api.Snapshot { s := viewtest.Empty(); s.MetaEnabled = true; return s }, 80, 24, nil, []string{"no review items — press m to run the metapipeline"}},
		{"list", viewtest.Reviews, 80, 24, nil, []string{"4 items", "#7", "[staged]", "[pr-open]", "[failed]", "[rejected]", "+0 -21 · 3 files", "3 reports", "legacy_orders"}},
		{"failed_item", viewtest.Reviews, 80, 24, []string{"j", "j"}, []string{"#5 archive", "error: archiving 1 of 3 reports failed", "Reports (3)", "archive failed: 404"}},
		{"grid", viewtest.Reviews, 160, 44, nil, []string{"▶ 4 Review", "#7"}},
		{"zoomed", viewtest.Reviews, 160, 44, []string{"z"}, []string{"▶ 4 Review", "zoomed", "--- legacy_orders"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t, tc.snap(), tc.width, tc.height)
			c.keys("4")
			c.keys(tc.keys...)
			screen := c.waitFor(tc.want...)
			c.final()
			checkFrame(t, screen, tc.width, tc.height)
			requireGolden(t, screen)
		})
	}
}

// enter opens the item; j/k and pgdn scroll the diff; n/N jump between its
// files; esc goes back to the list.
func TestReviewDiff(t *testing.T) {
	c := start(t, viewtest.Reviews(), 80, 24)
	c.keys("4", "enter")
	screen := c.waitFor("#7 deprecate [staged]", "Deprecate 3 unused dbt models", "Models (3)", "Diff · 3 files · +0 -21", "diff --git a/models/marts/legacy_orders.sql")
	requireGolden(t, screen, "top")
	if f := footer(screen); !strings.Contains(f, "next file") || !strings.Contains(f, "approve") {
		t.Errorf("item footer: %q", f)
	}

	c.keys("pgdown")
	screen = c.waitFor("file 1/3 models/marts/legacy_orders.sql", "-from {{ ref('stg_orders') }} o")
	requireGolden(t, screen, "page_down")

	c.keys("n")
	screen = c.waitFor("file 2/3 models/marts/schema.yml")
	if lines := strings.Split(screen, "\n"); !strings.HasPrefix(lines[2], "diff --git a/models/marts/schema.yml") {
		t.Errorf("n did not bring the next file to the top:\n%s", screen)
	}
	c.keys("n")
	screen = c.waitFor("file 3/3 models/staging/stg_old_events.sql", `\ No newline at end of file`)
	requireGolden(t, screen, "third_file")
	c.keys("n") // no further file: stays
	c.waitFor("file 3/3")
	c.keys("N")
	c.waitFor("file 2/3 models/marts/schema.yml")
	c.keys("k")
	c.waitFor("file 1/3")
	c.keys("esc")
	c.waitFor("4 items", "enter opens")
	c.final()
}

func TestReviewAnalysis(t *testing.T) {
	c := start(t, viewtest.Reviews(), 80, 24)
	c.keys("4", "i")
	screen := c.waitFor("Analysis of 11:45:00", "3 candidates", "Models run per day · 30 days", "Centrality · 15 models", "fct_orders", "IMPORTANCE")
	requireGolden(t, screen, "analysis")
	if !strings.Contains(screen, "min 0 on 2025-05-20") {
		t.Errorf("the chart's summary misses the day with no runs:\n%s", screen)
	}
	c.keys("G")
	screen = c.waitFor("legacy_orders *", "stg_old_events *")
	requireGolden(t, screen, "analysis_bottom")
	c.keys("i")
	c.waitFor("4 items")
	c.final()
}

func TestReviewAnalysisWide(t *testing.T) {
	c := start(t, viewtest.Reviews(), 160, 44)
	c.keys("4", "z", "i")
	screen := c.waitFor("Analysis of 11:45:00", "05-03", "06-01")
	c.final()
	checkFrame(t, screen, 160, 44)
	requireGolden(t, screen, "zoomed")
}

func TestReviewAnalysisEmpty(t *testing.T) {
	c := start(t, viewtest.Empty(), 80, 24)
	c.keys("4", "i")
	c.waitFor("no analysis yet — press m to run the metapipeline")
	c.final()
}

// Approve asks first with No selected: enter, n and esc approve nothing;
// y approves, shows the spinner while the engine works, then the pull
// request from the snapshot the engine published.
func TestReviewApprove(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 80, 24)
	gate := make(chan struct{})
	r.rmu.Lock()
	r.approveGate = gate
	r.onApprove = func(id int64) {
		next := viewtest.Reviews()
		next.Reviews[0].State, next.Reviews[0].URL = api.ReviewPROpen, "https://github.com/acme/analytics/pull/43"
		r.publish(next, api.TopicReviews)
	}
	r.rmu.Unlock()

	c.keys("4", "a")
	screen := c.waitFor("Approve review #7 (deprecate)? This pushes", "sluice/deprecate-20250601-3f9a and opens a pull request.", "> No <")
	requireGolden(t, screen, "dialog")
	for _, no := range []string{"enter", "n", "esc"} {
		if no != "enter" {
			c.keys("a")
			c.waitFor("Approve review #7")
		}
		c.keys(no)
		c.waitGone("Approve review #7")
	}
	if _, approved, _, _ := r.recorded(); len(approved) != 0 {
		t.Fatalf("enter/n/esc on the dialog approved %v", approved)
	}

	c.keys("a")
	c.waitFor("Approve review #7")
	c.keys("y")
	c.waitFor("approving review #7…")
	close(gate)
	screen = c.waitFor("review #7 approved · pull request https://github.com/acme/analytics/pull/43", "[pr-open]")
	c.final()
	if _, approved, _, _ := r.recorded(); !slices.Equal(approved, []int64{7}) {
		t.Fatalf("Approve calls %v, want [7]", approved)
	}
	requireGolden(t, screen, "outcome")
}

// From the item view too; a failed approval shows the item's error.
func TestReviewApproveFails(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 80, 24)
	r.rmu.Lock()
	r.onApprove = func(id int64) {
		next := viewtest.Reviews()
		next.Reviews[0].State, next.Reviews[0].Error = api.ReviewFailed, "opening the pull request: 401 Bad credentials"
		r.publish(next, api.TopicReviews)
	}
	r.rmu.Unlock()
	c.keys("4", "enter", "a")
	c.waitFor("Approve review #7")
	c.keys("y")
	screen := c.waitFor("error: approving review #7 failed: opening the pull", "#7 deprecate [failed]", "error: opening the pull request: 401 Bad credentials")
	c.final()
	requireGolden(t, screen, "failed")
}

func TestReviewApproveError(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 80, 24)
	r.rmu.Lock()
	// As the engine words it (api.API): the toast adds nothing.
	r.approveErr = errors.New("approving review 7: push rejected: the remote branch is not an ancestor (non-fast-forward); nothing was forced")
	r.rmu.Unlock()
	c.keys("4", "a")
	c.waitFor("Approve review #7")
	c.keys("y")
	screen := c.waitFor("error: approving review 7: push rejected")
	if n := strings.Count(screen, "approving review"); n != 1 {
		t.Errorf("the error names the operation %d times:\n%s", n, screen)
	}
	c.final()
}

func TestReviewReject(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 80, 24)
	c.keys("4", "x")
	screen := c.waitFor("Reject review #7 (deprecate)? Its local branch", "is deleted; nothing is", "> No <", "Reason (optional")
	requireGolden(t, screen, "dialog")
	c.keys("esc")
	c.waitGone("Reject review")
	// The reason field has the keys first: y and n are letters of it.
	c.keys("x")
	c.waitFor("Reject review #7")
	c.keys("no consumer, but finance asked to keep it")
	c.waitFor("> no consumer, but finance asked")
	c.keys("enter")
	screen = c.waitFor("↑ edit")
	requireGolden(t, screen, "reason")
	c.keys("y")
	c.waitFor("review #7 rejected")
	c.final()
	if _, approved, rejected, _ := r.recorded(); len(approved) != 0 || !slices.Equal(rejected, []int64{7}) {
		t.Fatalf("approved %v rejected %v, want [] [7]", approved, rejected)
	}
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if !slices.Equal(r.reasons, []string{"no consumer, but finance asked to keep it"}) {
		t.Fatalf("reasons %q", r.reasons)
	}
}

// u in the list undoes the session's last rejection: the engine is asked
// for that item only, after a reject that succeeded, and the pane shows it
// staged again. With nothing rejected in the session, u says so and asks
// the engine nothing.
func TestReviewUndoReject(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 100, 30)
	withState := func(state api.ReviewState) {
		next := viewtest.Reviews()
		next.Reviews[0].State = state
		r.publish(next, api.TopicReviews)
	}
	r.rmu.Lock()
	r.onReject = func(int64) { withState(api.ReviewRejected) }
	r.onUnreject = func(int64) { withState(api.ReviewStaged) }
	r.rmu.Unlock()

	c.keys("4", "u")
	c.waitFor("nothing to undo: no review rejected in this session")
	c.keys("x")
	c.waitFor("Reject review #7")
	c.keys("enter", "y")
	c.waitFor("review #7 rejected · u undoes")
	// The second item (#4) was rejected before this session: u passes it
	// by and takes #7, wherever the cursor is.
	c.keys("j", "u")
	c.waitFor("review #7 staged again")
	c.keys("u")
	c.waitFor("nothing to undo: no review rejected in this session")
	c.final()
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if !slices.Equal(r.rejected, []int64{7}) || !slices.Equal(r.unrejected, []int64{7}) {
		t.Fatalf("rejected %v unrejected %v, want [7] [7]", r.rejected, r.unrejected)
	}
}

// TestReviewUndoRejectInOpenItem: u undoes a reject made inside an open
// item too (there u otherwise puts back a model taken out).
func TestReviewUndoRejectInOpenItem(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 100, 30)
	withState := func(state api.ReviewState) {
		next := viewtest.Reviews()
		next.Reviews[0].State = state
		r.publish(next, api.TopicReviews)
	}
	r.rmu.Lock()
	r.onReject = func(int64) { withState(api.ReviewRejected) }
	r.onUnreject = func(int64) { withState(api.ReviewStaged) }
	r.rmu.Unlock()

	c.keys("4", "enter", "x")
	c.waitFor("Reject review #7")
	c.keys("enter", "y")
	c.waitFor("review #7 rejected · u undoes")
	c.keys("u")
	c.waitFor("review #7 staged again")
	c.final()
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if !slices.Equal(r.rejected, []int64{7}) || !slices.Equal(r.unrejected, []int64{7}) {
		t.Fatalf("rejected %v unrejected %v, want [7] [7]", r.rejected, r.unrejected)
	}
}

// Items past review cannot be approved or rejected again: the pane says
// so without asking the engine.
func TestReviewRefusesFinishedItems(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 80, 24)
	c.keys("4", "j", "a")
	c.waitFor("review #6 is pr-open: nothing to approve")
	c.keys("G", "x")
	c.waitFor("review #4 is rejected: nothing to reject")
	c.final()
	if _, approved, rejected, _ := r.recorded(); len(approved)+len(rejected) != 0 {
		t.Fatalf("calls for finished items: approved %v rejected %v", approved, rejected)
	}
}

// An open pull request's item offers none of the picking keys, in its
// help as in its footer, and refuses them at once with the reason.
func TestReviewOpenPROffersNoPicking(t *testing.T) {
	c, r := startRecording(t, viewtest.Reviews(), 80, 24)
	c.keys("4", "j", "enter", "?")
	screen := c.waitFor("Keys · Review pane and global")
	for _, k := range []string{"pick model", "take out/put back", "undo take-out", "undo reject", "approve", "reject"} {
		if strings.Contains(screen, k) {
			t.Errorf("the help of #6 (exposures, pr-open) offers %q:\n%s", k, screen)
		}
	}
	c.keys("esc", "space")
	c.waitFor("error: review #6 (exposures, pr-open): only a staged")
	c.keys("u")
	c.waitFor("error: review #6 (exposures, pr-open): nothing to undo")
	c.final()
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if len(r.unrejected) != 0 {
		t.Fatalf("u asked the engine to undo %v", r.unrejected)
	}
}

func TestReviewRunMeta(t *testing.T) {
	snap := viewtest.Empty()
	snap.MetaEnabled = true // a dbt manifest is configured
	c, r := startRecording(t, snap, 80, 24)
	c.keys("4", "m")
	// It asks first, No selected: enter declines.
	c.waitFor("Run the metapipeline now?", "> No <")
	c.keys("enter")
	c.waitGone("Run the metapipeline now?")
	if _, _, _, runs := r.recorded(); runs != 0 {
		t.Fatalf("RunMeta called %d times after No", runs)
	}
	c.keys("m")
	c.waitFor("Run the metapipeline now?")
	c.keys("y")
	c.waitFor("metapipeline queued")
	c.final()
	if _, _, _, runs := r.recorded(); runs != 1 {
		t.Fatalf("RunMeta called %d times, want 1", runs)
	}
}

// Without a dbt manifest there is no metapipeline: m is not offered, and
// pressing it says how to configure one at once, with no dialog.
func TestReviewRunMetaUnconfigured(t *testing.T) {
	c, r := startRecording(t, viewtest.Empty(), 80, 24)
	c.keys("4")
	screen := c.waitFor("the metapipeline is not configured")
	if strings.Contains(screen, "run metapipeline") {
		t.Errorf("m is offered without a manifest:\n%s", screen)
	}
	c.keys("m")
	screen = c.waitFor("error: the metapipeline is not configured: start sluice with --manifest")
	if strings.Contains(screen, "Run the metapipeline now?") {
		t.Errorf("m asked before refusing:\n%s", screen)
	}
	c.keys("?")
	if screen := c.waitFor("Keys · Review pane and global"); strings.Contains(screen, "run metapipeline") {
		t.Errorf("the help offers m without a manifest:\n%s", screen)
	}
	c.final()
	if _, _, _, runs := r.recorded(); runs != 0 {
		t.Fatalf("RunMeta called %d times without a manifest", runs)
	}
}

func TestReviewFilter(t *testing.T) {
	c := start(t, viewtest.Reviews(), 80, 24)
	c.keys("4", "/")
	c.tm.Type("exposures")
	c.keys("enter")
	screen := c.waitFor("filter: exposures", "#6", "Refresh dbt exposures")
	c.final()
	if strings.Contains(screen, "#7 ") || strings.Contains(screen, "Deprecate 3") {
		t.Errorf("the filter kept #7:\n%s", screen)
	}
}

func TestReviewHelp(t *testing.T) {
	c := start(t, viewtest.Reviews(), 100, 30)
	c.keys("4", "enter", "?")
	screen := c.waitFor("Keys · Review pane and global")
	c.final()
	for _, want := range []string{"next file", "prev file", "approve", "reject", "run metapipeline", "analysis", "page down", "back"} {
		if !strings.Contains(screen, want) {
			t.Errorf("help lacks %q:\n%s", want, screen)
		}
	}
}

// 10,000 items and a 100,000-line diff: the list reaches the last item,
// the diff its last line, and every frame fits.
func TestReviewLarge(t *testing.T) {
	snap := viewtest.LargeReviews(10000, 100, 1000)
	m, _ := newModel(t, snap)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	m.Update(keyMsg("4"))
	m.Update(keyMsg("G"))
	screen := m.View()
	checkFrame(t, screen, 80, 24)
	if !strings.Contains(screen, "› #1 ") {
		t.Errorf("G did not reach the last item:\n%s", screen)
	}
	m.Update(keyMsg("g"))
	m.Update(keyMsg("enter"))
	m.Update(keyMsg("G"))
	screen = m.View()
	checkFrame(t, screen, 80, 24)
	if !strings.Contains(screen, "file 100/100 models/gen/m0099.sql") || !strings.Contains(screen, "-select 999 as c999") {
		t.Errorf("G did not reach the end of the diff:\n%s", screen)
	}
}
