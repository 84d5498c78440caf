package review

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
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

// offered is what a footer or a help shows of the bindings: "key desc"
// of each enabled one.
func offered(groups ...[]key.Binding) []string {
	var out []string
	for _, g := range groups {
		for _, b := range g {
			if b.Enabled() {
				out = append(out, b.Help().Key+" "+b.Help().Desc)
			}
		}
	}
	return out
}

// toastOf runs a key's command and returns the toast it asks for.
func toastOf(t *testing.T, cmd tea.Cmd) common.ToastRequestedMsg {
	t.Helper()
	return msgOf[common.ToastRequestedMsg](t, cmd)
}

// An open item offers picking models and u by its kind and state, the
// footer and the help alike, and refuses at once, saying why, the keys it
// does not offer: nothing reaches the engine.
func TestItemKeysFollowKindAndState(t *testing.T) {
	t.Parallel()
	const pickKey, takeOut, undoTakeOut, undoReject = "]/[ pick model", "space take out/put back", "u undo take-out", "u undo reject"
	for _, tc := range []struct {
		kind  string
		state api.ReviewState
		// here: this session rejected the item (x, then the engine's
		// snapshot shows it rejected).
		here bool
		pick bool
		undo string // the u offered, "" for none
		// refusal is what u says when it offers nothing.
		refusal string
	}{
		{"deprecate", api.ReviewStaged, false, true, undoTakeOut, ""},
		{"deprecate", api.ReviewBlocked, false, true, undoTakeOut, ""},
		{"delete", api.ReviewStaged, false, true, undoTakeOut, ""},
		{"deprecate", api.ReviewFailed, false, false, "", "nothing to undo"},
		{"deprecate", api.ReviewPROpen, false, false, "", "nothing to undo"},
		{"exposures", api.ReviewStaged, false, false, "", "nothing to undo"},
		{"exposures", api.ReviewPROpen, false, false, "", "nothing to undo"},
		{"archive", api.ReviewStaged, false, false, "", "nothing to undo"},
		{"delete-reports", api.ReviewArchived, false, false, "", "nothing to undo"},
		{"deprecate", api.ReviewRejected, false, false, "", "was not rejected in this session"},
		{"deprecate", api.ReviewRejected, true, false, undoReject, ""},
		{"exposures", api.ReviewRejected, true, false, undoReject, ""},
	} {
		name := tc.kind + "/" + string(tc.state)
		if tc.here {
			name += "/in this session"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			snap := viewtest.Reviews()
			it := &snap.Reviews[0] // #7
			it.Kind, it.State = tc.kind, tc.state
			stub := &stubAPI{snap: snap}
			m := newPane(t, snap, true, 120, 40)
			if tc.here {
				before := viewtest.Reviews()
				before.Reviews[0].Kind = tc.kind
				m = newPane(t, before, true, 120, 40)
				x := action(t, press(m, "x"))
				if _, err := x.DoInput(context.Background(), stub, ""); err != nil {
					t.Fatal(err)
				}
				m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: api.TopicReviews})
			}
			press(m, "enter")
			for where, keys := range map[string][]string{"footer": offered(m.ShortHelp()), "help": offered(m.FullHelp()...)} {
				for _, k := range []string{pickKey, takeOut} {
					if slices.Contains(keys, k) != tc.pick {
						t.Errorf("%s offers %q: %v, want %v: %q", where, k, !tc.pick, tc.pick, keys)
					}
				}
				for _, u := range []string{undoTakeOut, undoReject} {
					if want := u == tc.undo; slices.Contains(keys, u) != want {
						t.Errorf("%s offers %q: %v, want %v: %q", where, u, !want, want, keys)
					}
				}
			}

			if tc.pick {
				press(m, "]")
				if m.pick != 1 {
					t.Errorf("] picks model %d, want 1", m.pick)
				}
				if press(m, "space"); m.prompt == nil {
					t.Error("space asks nothing")
				}
				press(m, "esc")
			} else {
				for _, k := range []string{"]", "[", "space"} {
					msg := toastOf(t, press(m, k))
					if !msg.Error || !strings.Contains(msg.Text, "review #7 ("+tc.kind+", "+string(tc.state)+"): only a staged deprecation's models can be taken out") {
						t.Errorf("%s says %+v", k, msg)
					}
				}
				if m.pick != 0 || m.prompt != nil {
					t.Errorf("refused keys moved the pick to %d or asked %+v", m.pick, m.prompt)
				}
			}

			switch cmd := press(m, "u"); tc.undo {
			case undoReject:
				if _, err := action(t, cmd).Do(context.Background(), stub); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(stub.unrejected, []int64{7}) {
					t.Errorf("u undid the rejection of %v, want [7]", stub.unrejected)
				}
			case undoTakeOut:
				// Nothing taken out yet: u says so, and asks nothing.
				if msg := toastOf(t, cmd); !strings.Contains(msg.Text, "nothing to undo: no model taken out of review #7") {
					t.Errorf("u says %+v", msg)
				}
			default:
				if msg := toastOf(t, cmd); !msg.Error || !strings.Contains(msg.Text, tc.refusal) {
					t.Errorf("u says %+v, want %q", msg, tc.refusal)
				}
			}
		})
	}
}

// u in one open item undoes that item's take-out, never another's.
func TestUndoTakeOutStaysInItsItem(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Reviews[3].State = api.ReviewStaged // #4, a second staged deprecation
	m := newPane(t, snap, true, 120, 40)
	press(m, "enter", "space", "o", "esc") // legacy_orders out of #7
	out := viewtest.Reviews()
	out.Reviews[3].State = api.ReviewStaged
	out.Reviews[0].Subjects[0].Excluded = "left out this time"
	m.Update(common.SnapshotUpdatedMsg{Snap: out, Topics: api.TopicReviews})

	press(m, "G", "enter") // #4
	if msg := toastOf(t, press(m, "u")); !strings.Contains(msg.Text, "nothing to undo: no model taken out of review #4") {
		t.Errorf("u in #4 says %+v", msg)
	}
	press(m, "esc", "g", "enter") // #7
	a := action(t, press(m, "u"))
	if !strings.Contains(a.Name, "putting legacy_orders back into review #7") {
		t.Errorf("u in #7 asks %q", a.Name)
	}
}

// The list offers u "undo reject" only while an item this session rejected
// is still rejected, wherever the cursor is.
func TestListOffersUndoRejectAfterASessionReject(t *testing.T) {
	t.Parallel()
	const undo = "u undo reject"
	offers := func(m *Model) (footer, help bool) {
		return slices.Contains(offered(m.ShortHelp()), undo), slices.Contains(offered(m.FullHelp()...), undo)
	}
	m := newPane(t, viewtest.Reviews(), true, 120, 40)
	if footer, help := offers(m); footer || help {
		t.Fatalf("u offered before any reject: footer %v help %v (#4 was rejected before the session)", footer, help)
	}
	x := action(t, press(m, "x")) // #7
	stub := &stubAPI{snap: viewtest.Reviews()}
	if _, err := x.DoInput(context.Background(), stub, ""); err != nil {
		t.Fatal(err)
	}
	rejected := viewtest.Reviews()
	rejected.Reviews[0].State = api.ReviewRejected
	m.Update(common.SnapshotUpdatedMsg{Snap: rejected, Topics: api.TopicReviews})
	press(m, "j") // #6: u is not about the selected item
	if footer, help := offers(m); !footer || !help {
		t.Errorf("u not offered after #7 was rejected: footer %v help %v", footer, help)
	}
	// Someone else put #7 back: nothing left to undo.
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Reviews(), Topics: api.TopicReviews})
	if footer, help := offers(m); footer || help {
		t.Errorf("u still offered with #7 staged again: footer %v help %v", footer, help)
	}
}

// m is offered only where a metapipeline is configured (a dbt manifest);
// without one it says at once how to configure it, in every mode.
func TestMetaKeyNeedsAManifest(t *testing.T) {
	t.Parallel()
	const meta = "m run metapipeline"
	for _, enabled := range []bool{true, false} {
		for mode, keys := range map[string][]string{"list": nil, "item": {"enter"}, "analysis": {"i"}} {
			snap := viewtest.Reviews()
			snap.MetaEnabled = enabled
			m := newPane(t, snap, true, 120, 40)
			press(m, keys...)
			// An open item's footer leaves m to the help: its room goes
			// to the item's own keys.
			if got := slices.Contains(offered(m.ShortHelp()), meta); got != (enabled && mode != "item") {
				t.Errorf("%s footer with manifest %v offers m: %v", mode, enabled, got)
			}
			if got := slices.Contains(offered(m.FullHelp()...), meta); got != enabled {
				t.Errorf("%s help with manifest %v offers m: %v", mode, enabled, got)
			}
			cmd := press(m, "m")
			if enabled {
				if a := action(t, cmd); !strings.Contains(a.Prompt, "Run the metapipeline now?") {
					t.Errorf("%s: m asks %q", mode, a.Prompt)
				}
				continue
			}
			if msg := toastOf(t, cmd); !msg.Error || !strings.Contains(msg.Text, "the metapipeline is not configured: start sluice with --manifest PATH") {
				t.Errorf("%s: m says %+v", mode, msg)
			}
		}
	}
	// An empty pane does not point at m when there is no m.
	for _, enabled := range []bool{true, false} {
		snap := viewtest.Empty()
		snap.MetaEnabled = enabled
		msg := toastOf(t, press(newPane(t, snap, true, 120, 40), "a"))
		if got := strings.Contains(msg.Text, "m runs the metapipeline"); got != enabled {
			t.Errorf("with manifest %v, a on an empty pane says %q", enabled, msg.Text)
		}
	}
}
