package logs

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func TestSplitLogfmt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"plain pairs", "run=12 dag=demo/fanout", []string{"run=12", "dag=demo/fanout"}},
		{"quoted value stays whole", `run=3 err="node x: score: 0.4 below 0.5" try=2`,
			[]string{"run=3", `err="node x: score: 0.4 below 0.5"`, "try=2"}},
		{"escaped quote inside", `err="node \"a b\" failed" n=1`, []string{`err="node \"a b\" failed"`, "n=1"}},
		{"escaped backslash ends before quote", `p="c:\\" q=1`, []string{`p="c:\\"`, "q=1"}},
		{"runs of whitespace", "  a=1 \t b=2  ", []string{"a=1", "b=2"}},
		{"empty quoted value", `a="" b=2`, []string{`a=""`, "b=2"}},
		{"unterminated quote runs to the end", `a="x y`, []string{`a="x y`}},
		{"bare word", "oops a=1", []string{"oops", "a=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := splitLogfmt(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("splitLogfmt(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// quoteLikeEngine formats a value as the engine's log ring does.
func quoteLikeEngine(v string) string {
	if strings.ContainsAny(v, " \t\n\"=") || v == "" {
		return fmt.Sprintf("%q", v)
	}
	return v
}

// Any value the engine writes comes back as one field, and unquotes to
// what was logged.
func FuzzSplitLogfmtRoundTrip(f *testing.F) {
	f.Add("err", `node "x" failed: score: 0.4`)
	f.Add("path", `c:\dir\`)
	f.Add("msg", "line one\nline two")
	f.Add("k", "")
	f.Fuzz(func(t *testing.T, key, value string) {
		if key == "" || strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || r == '"' || r == '=' }) {
			return
		}
		attrs := "run=1 " + key + "=" + quoteLikeEngine(value) + " dag=x"
		got := splitLogfmt(attrs)
		if len(got) != 3 || got[0] != "run=1" || got[2] != "dag=x" {
			t.Fatalf("splitLogfmt(%q) = %q", attrs, got)
		}
		k, v := fieldLine(got[1])
		if k != key || (v != value && quoteLikeEngine(value) != value) {
			t.Fatalf("field %q reads as %q=%q, want %q=%q", got[1], k, v, key, value)
		}
	})
}

// Whatever the input, fields are non-empty, carry no whitespace at their
// ends, lose no non-space character, and splitting them again changes
// nothing.
func FuzzSplitLogfmt(f *testing.F) {
	f.Add(`a=1 err="x \"y\" z" b=`)
	f.Add(`"unterminated \`)
	f.Fuzz(func(t *testing.T, s string) {
		fields := splitLogfmt(s)
		for _, fl := range fields {
			if fl == "" || isSeparator(fl[0]) || isSeparator(fl[len(fl)-1]) && !strings.Contains(fl, `"`) {
				t.Fatalf("bad field %q of %q", fl, s)
			}
		}
		nonSpace := func(x string) int {
			n := 0
			for i := 0; i < len(x); i++ {
				if !isSeparator(x[i]) {
					n++
				}
			}
			return n
		}
		if nonSpace(strings.Join(fields, "")) != nonSpace(s) {
			t.Fatalf("fields %q of %q lost characters", fields, s)
		}
		if again := splitLogfmt(strings.Join(fields, " ")); !slices.Equal(again, fields) {
			t.Fatalf("resplit %q of %q gives %q", fields, s, again)
		}
	})
}

// The detail view shows a quoted value on one line, not a word per line.
func TestDetailKeepsQuotedValuesWhole(t *testing.T) {
	t.Parallel()
	c := common.NewCommon(styles.ForProfile(termenv.Ascii))
	c.Clock = viewtest.Clock
	m := New(c)
	m.SetSize(120, 20)
	snap := viewtest.Empty()
	snap.Logs = []api.LogRecord{{Time: viewtest.Now, Level: slog.LevelWarn, Msg: "task failed",
		Attrs: `run=7 err="node \"score\" failed: score: 0.4" try=2`}}
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	view := m.View()
	if !strings.Contains(view, `err=node "score" failed: score: 0.4`) {
		t.Fatalf("the detail view splits the quoted value:\n%s", view)
	}
	for _, want := range []string{"run=7", "try=2"} {
		if !strings.Contains(view, want) {
			t.Errorf("detail lacks %q:\n%s", want, view)
		}
	}
}
