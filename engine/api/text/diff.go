package text

import "strings"

// Diff is Block for a unified diff, or any text compared line by line: it
// keeps newlines and tabs but escapes every CR, even before a newline, so
// that a line whose only change is its ending shows the change instead of
// reading the same on both sides.
func Diff(s string) string {
	if !strings.Contains(s, "\r") {
		return Block(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Block(l) // no newline inside: every CR is escaped
	}
	return strings.Join(lines, "\n")
}
