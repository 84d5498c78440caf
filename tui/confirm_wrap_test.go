package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// The dialog wraps on spaces only: a branch, path or URL stays whole on a
// line, or is cut with … when no line can hold it.
func TestWrapOnSpacesNeverBreaksAName(t *testing.T) {
	t.Parallel()
	const branch = "sluice/deprecate-20250601-3f9a-legacy-orders"
	prompt := "Approve review #7 (deprecate)? This pushes " + branch + " and opens a pull request at https://github.com/acme/analytics."
	for _, width := range []int{20, 30, 44, 52, 60} {
		got := wrapOnSpaces(prompt, width)
		for _, l := range strings.Split(got, "\n") {
			if w := ansi.StringWidth(l); w > width {
				t.Errorf("width %d: line %q is %d wide", width, l, w)
			}
			if strings.HasSuffix(l, "-") || strings.HasSuffix(l, "/") {
				t.Errorf("width %d: line %q breaks a name", width, l)
			}
		}
		if width >= len(branch) && !strings.Contains(got, branch) {
			t.Errorf("width %d: the branch is broken:\n%s", width, got)
		}
		if width < len(branch) && !strings.Contains("\n"+got+"\n", "\n"+ansi.Truncate(branch, width, "…")+"\n") {
			t.Errorf("width %d: the too-long branch is not on its own line, cut with …:\n%s", width, got)
		}
	}
	if got := wrapOnSpaces("one\ntwo three", 40); got != "one\ntwo three" {
		t.Errorf("newlines are lost: %q", got)
	}
}
