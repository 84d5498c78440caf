package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLineAndBlock(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, line, block string
	}{
		{"plain", "daily_etl", "daily_etl", "daily_etl"},
		{"unicode kept", "café ✓ 日本", "café ✓ 日本", "café ✓ 日本"},
		{"osc title", "a\x1b]0;pwned\x07b", `a\x1b]0;pwned\x07b`, `a\x1b]0;pwned\x07b`},
		{"clear screen", "x\x1b[2J", `x\x1b[2J`, `x\x1b[2J`},
		{"newline and tab", "a\nb\tc", `a\nb\tc`, "a\nb\tc"},
		{"crlf", "a\r\nb", `a\r\nb`, "a\nb"},
		{"lone cr", "ok\rFAILED", `ok\rFAILED`, `ok\rFAILED`},
		{"del", "a\x7fb", `a\x7fb`, `a\x7fb`},
		{"c1 csi", "a\u009b2Jb", `a\u009b2Jb`, `a\u009b2Jb`},
		{"bidi override", "abc\u202egnp.exe", `abc\u202egnp.exe`, `abc\u202egnp.exe`},
		{"bidi isolate", "\u2066x\u2069", `\u2066x\u2069`, `\u2066x\u2069`},
		{"invalid utf8", "a\x9bb\xff", `a\x9bb\xff`, `a\x9bb\xff`},
		{"nul", "a\x00", `a\x00`, `a\x00`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Line(c.in); got != c.line {
				t.Errorf("Line(%q) = %q, want %q", c.in, got, c.line)
			}
			if got := Block(c.in); got != c.block {
				t.Errorf("Block(%q) = %q, want %q", c.in, got, c.block)
			}
			if Safe(c.in) != (c.in == c.line) {
				t.Errorf("Safe(%q) = %v", c.in, Safe(c.in))
			}
		})
	}
}

func TestCleanStringIsNotCopied(t *testing.T) {
	s := strings.Repeat("daily_etl ", 10)
	if n := testing.AllocsPerRun(100, func() { _ = Line(s); _ = Block(s) }); n != 0 {
		t.Errorf("clean strings allocate: %v allocs per run", n)
	}
}

// FuzzSanitize: whatever goes in, what comes out is valid UTF-8 with no
// control (but newline and tab in Block), C1 or bidi-override character;
// sanitising twice changes nothing; clean input comes back unchanged.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b]0;t\x07", "\x1b[2J", "a\r\nb\n", "\u202e\u2066", "\xff\xfe", "\u009b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, mode := range []struct {
			name  string
			fn    func(string) string
			block bool
		}{{"Line", Line, false}, {"Block", Block, true}} {
			out := mode.fn(s)
			if !utf8.ValidString(out) {
				t.Fatalf("%s(%q) = %q: invalid UTF-8", mode.name, s, out)
			}
			for _, r := range out {
				bad := r < 0x20 && !(mode.block && (r == '\n' || r == '\t')) || r == 0x7f || unsafeRune(r)
				if bad {
					t.Fatalf("%s(%q) = %q: raw %U left", mode.name, s, out, r)
				}
			}
			if again := mode.fn(out); again != out {
				t.Fatalf("%s not idempotent: %q -> %q -> %q", mode.name, s, out, again)
			}
			if clean(s, mode.block) && out != s {
				t.Fatalf("%s changed clean %q to %q", mode.name, s, out)
			}
		}
	})
}
