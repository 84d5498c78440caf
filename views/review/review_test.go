package review

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// theme is a true-colour terminal, so the tests can tell what is coloured,
// or a NO_COLOR one (an ASCII profile), tested below.
func theme(noColor bool) *styles.Styles {
	if noColor {
		return styles.ForProfile(termenv.Ascii)
	}
	return styles.ForProfile(termenv.TrueColor)
}

func newPane(t testing.TB, snap *api.Snapshot, noColor bool, width, height int) *Model {
	t.Helper()
	c := common.NewCommon(theme(noColor))
	c.Clock = viewtest.Clock
	m := New(c)
	m.SetSize(width, height)
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
		case "pgdown":
			msg = tea.KeyMsg{Type: tea.KeyPgDown}
		case "space":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		}
		cmd = m.Update(msg)
	}
	return cmd
}

var (
	sgr    = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	colour = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]`)
)

// The diff is coloured by line kind, and without colour it still reads:
// the +/- and @@ characters are all there, no escape codes.
func TestDiffColoursAndPlainText(t *testing.T) {
	t.Parallel()
	colourOf := func(screen, text string) string {
		for _, l := range strings.Split(screen, "\n") {
			if strings.Contains(sgr.ReplaceAllString(l, ""), text) {
				return strings.Join(sgr.FindAllString(l, -1), "")
			}
		}
		t.Fatalf("no line holds %q:\n%s", text, screen)
		return ""
	}
	m := newPane(t, viewtest.Reviews(), false, 100, 60)
	press(m, "enter")
	screen := m.View()
	removed, context := colourOf(screen, "--- legacy_orders: replaced"), colourOf(screen, "   - name: fct_orders")
	hunk, file := colourOf(screen, "@@ -1,9 +0,0 @@"), colourOf(screen, "diff --git a/models/marts/schema.yml")
	if removed == "" || hunk == "" || file == "" || removed == hunk || removed == file || hunk == file {
		t.Errorf("removed %q, hunk %q and file %q lines should each have their own colour", removed, hunk, file)
	}
	if context != "" {
		t.Errorf("a context line is coloured: %q", context)
	}
	// An SQL comment removed ("--- ...") is coloured as removed, not as a
	// file header.
	if header := colourOf(screen, "--- a/models/marts/legacy_orders.sql"); header == removed {
		t.Errorf("the file header has the removed lines' colour %q", header)
	}

	plain := newPane(t, viewtest.Reviews(), true, 100, 60)
	press(plain, "enter")
	out := plain.View()
	if colour.MatchString(out) {
		t.Errorf("NO_COLOR output has colour codes: %q", colour.FindString(out))
	}
	out = sgr.ReplaceAllString(out, "") // bold may stay
	for _, want := range []string{"--- legacy_orders: replaced", "-select", "@@ -2,16 +2,8 @@", "+0 -21"} {
		if !strings.Contains(out, want) {
			t.Errorf("plain diff lacks %q", want)
		}
	}
}

func TestAddedLinesColoured(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), false, 100, 40)
	press(m, "j", "enter")
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "+  - name: churn_board") {
			if !sgr.MatchString(l) {
				t.Errorf("added line not coloured: %q", l)
			}
			return
		}
	}
	t.Fatalf("no added line on screen:\n%s", m.View())
}

// n puts the next file's first line at the top; N the previous; past the
// last file n stays.
func TestFileJumps(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 80, 20)
	press(m, "enter")
	head, files := len(m.body.head), m.body.diff.files
	for i, step := range []struct {
		key  string
		want int
	}{
		{"n", head + files[0].line},
		{"n", head + files[1].line},
		{"n", head + files[2].line},
		{"n", head + files[2].line},
		{"N", head + files[1].line},
		{"N", head + files[0].line},
		{"N", 0},
	} {
		press(m, step.key)
		if m.scroll.offset != step.want {
			t.Fatalf("step %d (%s): offset %d, want %d", i, step.key, m.scroll.offset, step.want)
		}
	}
}

func TestScroller(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		n, height int
		jump      int // -1: none
		keys      []string
		offset    int
		pos       string
	}{
		{"fits", 5, 10, -1, []string{"j", "G"}, 0, "all"},
		{"down", 100, 10, -1, []string{"j", "j"}, 2, "2%"},
		{"bottom", 100, 10, -1, []string{"G"}, 90, "end"},
		{"page down stops at the end", 100, 10, -1, []string{"G", "pgdown"}, 90, "end"},
		{"jump past the end stays", 100, 10, 97, nil, 97, "end"},
		{"down after a jump past the end does not move", 100, 10, 97, []string{"j"}, 97, "end"},
		{"up after a jump past the end", 100, 10, 97, []string{"k"}, 96, "end"},
		{"jump clamps to the last line", 100, 10, 500, nil, 99, "end"},
		{"top", 100, 10, 50, []string{"g"}, 0, "top"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s scroller
			s.setHeight(tc.height)
			s.setLen(tc.n)
			if tc.jump >= 0 {
				s.gotoLine(tc.jump)
			}
			k := common.NewCommon(styles.ForProfile(termenv.Ascii)).Keys
			for _, key := range tc.keys {
				msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(key)}
				if key == "pgdown" {
					msg = tea.KeyMsg{Type: tea.KeyPgDown}
				}
				s.update(msg, k)
			}
			if s.offset != tc.offset || s.position() != tc.pos {
				t.Errorf("offset %d %q, want %d %q", s.offset, s.position(), tc.offset, tc.pos)
			}
		})
	}
}

func TestDayChart(t *testing.T) {
	t.Parallel()
	st := styles.ForProfile(termenv.Ascii)
	days := []api.DayCount{{Day: "2025-05-30", Count: 0}, {Day: "2025-05-31", Count: 2}, {Day: "2025-06-01", Count: 8}, {Day: "2025-06-02", Count: 1}}
	got := dayChart(st, days, 40, 2)
	want := []string{
		"8 ┤    █   ",
		"0 ┤  ▄ █ ▂ ",
		"  └────────",
		"   06-02",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("chart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Too narrow for two cells a day: one each, the newest days kept.
	narrow := dayChart(st, days, 6, 1)
	if len(narrow) != 3 || !strings.HasSuffix(narrow[0], "█▁") || !strings.Contains(narrow[2], "06-02") {
		t.Errorf("narrow chart: %q", narrow)
	}
	if dayChart(st, nil, 40, 3) != nil {
		t.Error("a chart of no days")
	}
}

func TestApproveOutcome(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		it   *api.Review
		want string
		err  string
	}{
		{"pull request", &api.Review{State: api.ReviewPROpen, URL: "https://x/pull/1"}, "review #7 approved · pull request https://x/pull/1", ""},
		{"pushed only", &api.Review{State: api.ReviewPushed, Branch: "b"}, "review #7 approved · branch b pushed (no pull request configured)", ""},
		{"archived", &api.Review{State: api.ReviewArchived, Subjects: make([]api.ReviewSubject, 3)}, "review #7 approved · 3 reports archived", ""},
		{"failed", &api.Review{State: api.ReviewFailed, Error: "401 Bad credentials"}, "", "approving review #7 failed: 401 Bad credentials"},
		{"gone", nil, "review #7 approved", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := approveOutcome(7, tc.it)
			if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
				t.Errorf("approveOutcome = %q, %v; want %q, %q", got, err, tc.want, tc.err)
			}
		})
	}
}

// stubAPI records what an action asked of the engine.
type stubAPI struct {
	api.NoOperations
	mu       sync.Mutex
	snap     *api.Snapshot
	approved []int64
	rejected []int64
	reasons  []string
	meta     int
	// unrejected is the items UndoReject was asked for.
	unrejected []int64
}

func (s *stubAPI) Snapshot() *api.Snapshot               { return s.snap }
func (s *stubAPI) Subscribe() (<-chan api.Event, func()) { return nil, func() {} }
func (s *stubAPI) ScanNow(context.Context) (api.ScanResult, error) {
	return api.ScanResult{}, nil
}
func (s *stubAPI) Trigger(context.Context, string, json.RawMessage) (int64, error) { return 0, nil }
func (s *stubAPI) Cancel(context.Context, int64) error                             { return nil }
func (s *stubAPI) RunMeta(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta++
	return nil
}
func (s *stubAPI) Approve(_ context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approved = append(s.approved, id)
	return nil
}
func (s *stubAPI) Reject(_ context.Context, id int64, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, id)
	s.reasons = append(s.reasons, reason)
	return nil
}
func (s *stubAPI) PauseSensor(context.Context, string, int, bool) error { return nil }
func (s *stubAPI) UndoReject(_ context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unrejected = append(s.unrejected, id)
	return nil
}

func (s *stubAPI) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error {
	return nil
}

// action runs a key's command and returns the action it requests.
func action(t *testing.T, cmd tea.Cmd) common.Action {
	t.Helper()
	return msgOf[common.ActionRequestedMsg](t, cmd).Action
}

// msgOf runs a key's command and returns its message, which must be a T.
func msgOf[T tea.Msg](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	if cmd == nil {
		t.Fatal("the key returned no command")
	}
	got := cmd()
	msg, ok := got.(T)
	if !ok {
		t.Fatalf("the key's command returned %T, not %T", got, msg)
	}
	return msg
}

func TestKeysRequestConfirmedActions(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 80, 24)
	api := &stubAPI{snap: viewtest.Reviews()}

	a := action(t, press(m, "a"))
	if a.Prompt == "" || !a.Destructive || !strings.Contains(a.Prompt, "#7") {
		t.Errorf("approve must confirm: %+v", a)
	}
	if _, err := a.Do(context.Background(), api); err != nil {
		t.Fatal(err)
	}
	x := action(t, press(m, "x"))
	if x.Prompt == "" || !x.Destructive {
		t.Errorf("reject must confirm: %+v", x)
	}
	if _, err := x.DoInput(context.Background(), api, ""); err != nil {
		t.Fatal(err)
	}
	meta := action(t, press(m, "m"))
	if meta.Prompt == "" || !strings.Contains(meta.Prompt, "metapipeline") {
		t.Errorf("running the metapipeline must confirm, as the README says: %+v", meta)
	}
	if _, err := meta.Do(context.Background(), api); err != nil {
		t.Fatal(err)
	}
	if len(api.approved) != 1 || api.approved[0] != 7 || len(api.rejected) != 1 || api.rejected[0] != 7 || api.meta != 1 {
		t.Errorf("approved %v rejected %v meta %d", api.approved, api.rejected, api.meta)
	}
}

// The size column is computed for the rows drawn, not for every item of
// every snapshot.
func TestSizesOnlyForDrawnRows(t *testing.T) {
	t.Parallel()
	snap := viewtest.LargeReviews(10000, 2, 10)
	m := newPane(t, snap, true, 80, 24)
	_ = m.View()
	if n := len(m.sizes); n == 0 || n > m.list.Height()+1 {
		t.Errorf("%d sizes computed for a list %d rows high", n, m.list.Height())
	}
	press(m, "G")
	_ = m.View()
	if n := len(m.sizes); n > 2*(m.list.Height()+1) {
		t.Errorf("%d sizes computed after one jump", n)
	}
}

// A new snapshot keeps the cursor on its item, and the open item follows
// the engine (a state change shows without leaving the view).
func TestSnapshotKeepsSelectionAndRefreshesItem(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 80, 24)
	press(m, "j", "j") // #5
	next := viewtest.Reviews()
	next.Reviews = append([]api.Review{{ID: 8, Kind: "exposures", State: api.ReviewStaged}}, next.Reviews...)
	m.Update(common.SnapshotUpdatedMsg{Snap: next, Topics: api.TopicReviews})
	if it := m.selected(); it == nil || it.ID != 5 {
		t.Fatalf("selection moved to %+v", it)
	}
	press(m, "enter")
	again := viewtest.Reviews()
	again.Reviews[2].State, again.Reviews[2].Error = api.ReviewArchived, ""
	m.Update(common.SnapshotUpdatedMsg{Snap: again, Topics: api.TopicReviews})
	if v := sgr.ReplaceAllString(m.View(), ""); !strings.Contains(v, "#5 archive [archived]") || strings.Contains(v, "error:") {
		t.Errorf("the open item did not follow the snapshot:\n%s", v)
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	for d, want := range map[string]string{"45s": "45s", "12m": "12m", "26h": "26h", "300h": "12d"} {
		dur, _ := time.ParseDuration(d)
		if got := age(dur); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}

// Every view fills exactly the pane, at every size down to tiny.
func TestViewFillsThePane(t *testing.T) {
	t.Parallel()
	for _, snap := range []*api.Snapshot{viewtest.Empty(), viewtest.Reviews(), viewtest.LargeReviews(300, 3, 50)} {
		for _, keys := range [][]string{nil, {"enter"}, {"enter", "n", "n"}, {"i"}, {"i", "G"}, {"/", "x"}} {
			for _, sz := range [][2]int{{80, 21}, {78, 14}, {40, 8}, {158, 40}, {20, 3}, {1, 1}} {
				m := newPane(t, snap, true, sz[0], sz[1])
				press(m, keys...)
				v := m.View()
				if h := lipgloss.Height(v); h != sz[1] {
					t.Errorf("%d items %v %dx%d: %d lines", len(snap.Reviews), keys, sz[0], sz[1], h)
				}
				for i, l := range strings.Split(v, "\n") {
					if w := lipgloss.Width(l); w != sz[0] {
						t.Errorf("%d items %v %dx%d: line %d is %d wide: %q", len(snap.Reviews), keys, sz[0], sz[1], i, w, l)
						break
					}
				}
			}
		}
	}
}

// No evidence, no proposal: the pane shows the analysis' notice where a
// deprecation item would be, with or without other items.
func TestPaneShowsNoEvidenceNotice(t *testing.T) {
	t.Parallel()
	const notice = "no consumers known: connect Mode or declare exposures before clean-ups are proposed"
	empty := &api.Snapshot{Meta: &api.MetaReport{At: viewtest.Now, Notice: notice}}
	screen := sgr.ReplaceAllString(newPane(t, empty, true, 120, 20).View(), "")
	if !strings.Contains(screen, notice) || strings.Contains(screen, "no review items") {
		t.Errorf("empty pane:\n%s", screen)
	}
	snap := viewtest.Reviews()
	snap.Meta = &api.MetaReport{At: viewtest.Now, Notice: notice}
	m := newPane(t, snap, true, 120, 30)
	screen = sgr.ReplaceAllString(m.View(), "")
	if !strings.Contains(screen, notice) || !strings.Contains(screen, snap.Reviews[0].Title) {
		t.Errorf("pane with items:\n%s", screen)
	}
	if lines := strings.Count(screen, "\n") + 1; lines != 30 {
		t.Errorf("%d lines, want 30", lines)
	}
	snap.Meta.Notice = ""
	if screen := newPane(t, snap, true, 120, 30).View(); strings.Contains(screen, "no consumers known") {
		t.Errorf("notice without a notice:\n%s", screen)
	}
}

// `a` on a blocked item explains why it cannot be approved, with each
// dangling reference, instead of asking for confirmation.
func TestApproveBlockedExplains(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Reviews[0].State = api.ReviewBlocked
	snap.Reviews[0].Error = "blocked: the branch would break the dbt project (1 problem): models/sem.yml:3: ref('products') no longer resolves: the branch deletes products"
	m := newPane(t, snap, true, 120, 30)
	cmd := press(m, "a")
	if cmd == nil {
		t.Fatal("no command")
	}
	toast, ok := cmd().(common.ToastRequestedMsg)
	if !ok || !toast.Error || !strings.Contains(toast.Text, "cannot be approved") || !strings.Contains(toast.Text, "models/sem.yml:3: ref('products')") {
		t.Errorf("a on a blocked item: %#v", toast)
	}
	if cmd := press(m, "x"); cmd == nil {
		t.Error("x on a blocked item does nothing")
	} else if _, isToast := cmd().(common.ToastRequestedMsg); isToast {
		t.Error("x on a blocked item refused")
	}
}
