package review

import (
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
