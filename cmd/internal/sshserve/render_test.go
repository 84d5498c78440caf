package sshserve_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
)

// Each session is painted for its own terminal: its TERM, the NO_COLOR
// and COLORTERM it sends, and the background it reports — not what the
// server's own terminal (none, in a test) would get.
func TestEachSessionGetsItsTerminalsColours(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// The accent colour (the "sluice" title) as 24-bit RGB, per background.
	const darkAccent, lightAccent = "38;2;157;140;255", "38;2;89;63;214"
	tests := []struct {
		name       string
		term       sshtest.Terminal
		wantColour bool
		want       string // a sequence the output must hold
		wantNot    string
	}{
		{"256 colours", sshtest.Terminal{Term: "xterm-256color"}, true, "38;5;", ""},
		{"dumb", sshtest.Terminal{Term: "dumb"}, false, "", ""},
		{"NO_COLOR", sshtest.Terminal{Term: "xterm-256color", Env: map[string]string{"NO_COLOR": "1"}}, false, "", ""},
		{"true colour, dark", sshtest.Terminal{Term: "xterm-256color", Env: map[string]string{"COLORTERM": "truecolor"}}, true, darkAccent, lightAccent},
		{"true colour, light", sshtest.Terminal{Term: "xterm-256color", Env: map[string]string{"COLORTERM": "truecolor"}, Background: "rgb:ffff/ffff/ffff"}, true, lightAccent, darkAccent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.term.Width, tt.term.Height = 120, 40
			c := sshtest.OpenTerminal(t, f.addr, "olga", f.operator, tt.term)
			c.Screen.WaitFor(t, 0, wait, "daily_etl", "olga (olga@ops) · operator")
			raw := c.Screen.Raw(0)
			if got := colourSGR(raw); (got != "") != tt.wantColour {
				t.Errorf("colour in the output: %q, want colour %v", got, tt.wantColour)
			}
			if tt.want != "" && !strings.Contains(raw, tt.want) {
				t.Errorf("output lacks %q: %q", tt.want, sgr.FindAllString(raw, 8))
			}
			if tt.wantNot != "" && strings.Contains(raw, tt.wantNot) {
				t.Errorf("output has %q", tt.wantNot)
			}
			// Keys work, and the terminal's answer to the background
			// query never reached the console as keys ("…;rgb:…" would
			// have pressed r: a rescan and its toast).
			mark := c.Screen.Mark()
			c.Type(t, "2")
			c.Screen.WaitFor(t, mark, wait, "0 queued · 0 running")
			if strings.Contains(c.Screen.Text(0), "scanned 1 source") {
				t.Error("the background answer reached the console as keys")
			}
		})
	}
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// colourSGR is the first escape sequence in out that sets a colour
// (foreground or background, any depth), or "".
func colourSGR(out string) string {
	for _, m := range sgr.FindAllStringSubmatch(out, -1) {
		for _, p := range strings.Split(m[1], ";") {
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			if n >= 30 && n <= 49 && n != 39 && n != 49 || n >= 90 && n <= 107 {
				return m[0]
			}
		}
	}
	return ""
}
