package common

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/views/keys"
	"github.com/sluice-dev/sluice/views/styles"
)

func keyPress(s string) tea.KeyMsg {
	switch s {
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func TestListMoves(t *testing.T) {
	t.Parallel()
	k := keys.Default()
	for _, tc := range []struct {
		name        string
		n, height   int
		keys        []string
		cursor      int
		start, end  int
		handledLast bool
	}{
		{"empty list stays put", 0, 5, []string{"j", "G"}, -1, 0, 0, true},
		{"down moves", 10, 5, []string{"j", "j"}, 2, 0, 5, true},
		{"up stops at the top", 10, 5, []string{"k", "k"}, 0, 0, 5, true},
		{"bottom scrolls the window", 10, 5, []string{"G"}, 9, 5, 10, true},
		{"top after bottom", 10, 5, []string{"G", "g"}, 0, 0, 5, true},
		{"page down", 100, 10, []string{"pgdown"}, 10, 10, 20, true},
		{"page up after page down", 100, 10, []string{"pgdown", "pgdown", "pgup"}, 10, 10, 20, true},
		{"page down clamps", 12, 10, []string{"pgdown", "pgdown"}, 11, 2, 12, true},
		{"other keys are not handled", 10, 5, []string{"x"}, 0, 0, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var l List
			l.SetHeight(tc.height)
			l.SetLen(tc.n)
			var handled bool
			for _, s := range tc.keys {
				handled = l.Update(keyPress(s), k)
			}
			start, end := l.Window()
			if l.Cursor() != tc.cursor || start != tc.start || end != tc.end || handled != tc.handledLast {
				t.Errorf("cursor %d window [%d,%d) handled %v; want %d [%d,%d) %v",
					l.Cursor(), start, end, handled, tc.cursor, tc.start, tc.end, tc.handledLast)
			}
		})
	}
}

func TestListKeepsCursorVisibleWhenShrinking(t *testing.T) {
	t.Parallel()
	var l List
	l.SetHeight(5)
	l.SetLen(100)
	l.Select(90)
	l.SetLen(20)
	start, end := l.Window()
	if l.Cursor() != 19 || start != 15 || end != 20 {
		t.Fatalf("cursor %d window [%d,%d), want 19 [15,20)", l.Cursor(), start, end)
	}
	l.SetHeight(50)
	if start, end := l.Window(); start != 0 || end != 20 {
		t.Fatalf("window [%d,%d) after growing, want [0,20)", start, end)
	}
}

func TestRenderListIsExactlyTheWindow(t *testing.T) {
	t.Parallel()
	c := NewCommon(styles.ForProfile(termenv.Ascii))
	var l List
	l.SetHeight(4)
	l.SetLen(10000)
	l.Select(5000)
	rendered := 0
	out := RenderList(c, &l, 30, func(i, w int) string { rendered++; return "row" })
	if rendered != 4 {
		t.Fatalf("rendered %d rows of 10000, want only the 4 visible", rendered)
	}
	if got := lipgloss.Height(out); got != 4 {
		t.Fatalf("height %d, want 4", got)
	}
	if w := lipgloss.Width(out); w != 30 {
		t.Fatalf("width %d, want 30", w)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "-"},
		{850 * time.Millisecond, "850ms"},
		{3 * time.Second, "3s"},
		{4100 * time.Millisecond, "4.1s"},
		{42 * time.Second, "42s"},
		{125 * time.Second, "2m05s"},
		{62 * time.Minute, "1h02m"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestAgoUntil(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		got, want string
	}{
		{Ago(now, time.Time{}), "never"},
		{Ago(now, now), "just now"},
		{Ago(now, now.Add(-3500*time.Millisecond)), "3s ago"},
		{Until(now, time.Time{}), "-"},
		{Until(now, now.Add(-time.Second)), "now"},
		{Until(now, now.Add(8*time.Second)), "in 8s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestColumnsFitTheWidth(t *testing.T) {
	t.Parallel()
	for _, width := range []int{5, 20, 40, 80} {
		got := Columns(width, []int{4, 10, 6}, "#12", "demo/fanout_with_a_long_name", "running", "a tail that is long enough to be cut")
		if w := lipgloss.Width(got); w > width {
			t.Errorf("width %d: %d cells: %q", width, w, got)
		}
	}
	if got := Columns(40, []int{4, 6}, "#1", "abc", "tail"); got != "#1   abc    tail" {
		t.Errorf("Columns = %q", got)
	}
}

func TestSparkline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    []int64
		width int
		want  string
	}{
		{nil, 5, ""},
		{[]int64{1, 1, 1}, 5, "▁▁▁"},
		{[]int64{0, 7}, 5, "▁█"},
		{[]int64{0, 1, 2, 3, 4, 5, 6, 7}, 4, "▁▃▅█"},
	} {
		if got := Sparkline(tc.in, tc.width); got != tc.want {
			t.Errorf("Sparkline(%v, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

func TestOneLineAndPlural(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a\nb\tc":                   "a b c",
		"a\x1b[31m\x1b]0;T\x07":     `a\x1b[31m\x1b]0;T\x07`,
		"rev\u202egnp \u009b2J\x7f": `rev\u202egnp \u009b2J\x7f`,
		"clean ✓":                   "clean ✓",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
	if Plural(1, "item") != "1 item" || Plural(2, "item") != "2 items" || Plural(0, "sensor") != "0 sensors" {
		t.Error("Plural")
	}
}

func TestFilterMatcher(t *testing.T) {
	t.Parallel()
	c := NewCommon(styles.ForProfile(termenv.Ascii))
	f := NewFilter(c)
	if f.Matcher() != nil {
		t.Fatal("an empty filter should match everything (nil matcher)")
	}
	f.Start()
	for _, r := range "Demo fan" {
		f.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	m := f.Matcher()
	for text, want := range map[string]bool{"demo/fanout": true, "DEMO/FANOUT": true, "demo/flaky": false, "fan/demo": true} {
		if m(text) != want {
			t.Errorf("match(%q) = %v, want %v", text, m(text), want)
		}
	}
	if changed, _ := f.Update(tea.KeyMsg{Type: tea.KeyEsc}); !changed || f.Active() || f.Editing() {
		t.Errorf("esc should clear the filter: changed %v active %v editing %v", changed, f.Active(), f.Editing())
	}
}

// Skipped rows (section headers) never hold the cursor, whichever way it
// moves, and the first header stays in view when the cursor is at the top.
func TestListSkipsRows(t *testing.T) {
	t.Parallel()
	k := keys.Default()
	headers := map[int]bool{0: true, 3: true, 4: true, 9: true}
	for _, tc := range []struct {
		name   string
		keys   []string
		cursor int
		start  int
	}{
		{"starts past the first header", nil, 1, 0},
		{"up at the first row stays", []string{"k"}, 1, 0},
		{"down passes two headers", []string{"j", "j"}, 5, 2},
		{"up passes them back", []string{"j", "j", "k"}, 2, 2},
		{"bottom on a header goes up", []string{"G"}, 8, 6},
		{"top shows the header", []string{"G", "g"}, 1, 0},
		{"page down lands on a row", []string{"pgdown"}, 5, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var l List
			l.SetHeight(4)
			l.SetLen(10)
			l.SetSkip(func(i int) bool { return headers[i] })
			for _, s := range tc.keys {
				l.Update(keyPress(s), k)
			}
			start, _ := l.Window()
			if l.Cursor() != tc.cursor || start != tc.start {
				t.Errorf("cursor %d window start %d; want %d, %d", l.Cursor(), start, tc.cursor, tc.start)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 6777: "6,777", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// Rows that arrive before the list has its height still leave the first
// header in view once it has one (the order of the first snapshot and
// the first window size is not fixed).
func TestListSkipRowsBeforeHeight(t *testing.T) {
	t.Parallel()
	var l List
	l.SetSkip(func(i int) bool { return i == 0 })
	l.SetLen(10)
	l.SetHeight(5)
	if start, _ := l.Window(); l.Cursor() != 1 || start != 0 {
		t.Errorf("cursor %d window start %d; want 1, 0", l.Cursor(), start)
	}
}
