package logs

import (
	"strconv"
	"strings"
)

// splitLogfmt splits a record's attributes ("key=value key=\"a b\"") into
// one field per pair. Whitespace separates pairs only outside quotes, and
// a backslash inside quotes escapes the next character, so a quoted value
// (`err="node \"x\" failed"`) stays whole. An unterminated quote runs to
// the end. Fields keep their text as written.
//
// Separators are the bytes the engine's log ring quotes a value for
// (space, tab, newline): any other byte, \r or a non-ASCII space
// included, may sit in an unquoted value. Every byte that matters is
// ASCII, so walking bytes is safe on any UTF-8, valid or not.
func splitLogfmt(s string) []string {
	var fields []string
	start := -1 // start of the field being read, -1 between fields
	inQuote, escaped := false, false
	for i := 0; i < len(s); i++ {
		r := s[i]
		switch {
		case inQuote && escaped:
			escaped = false
		case inQuote && r == '\\':
			escaped = true
		case r == '"':
			inQuote = !inQuote
		case !inQuote && isSeparator(r):
			if start >= 0 {
				fields = append(fields, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		fields = append(fields, s[start:])
	}
	return fields
}

func isSeparator(b byte) bool { return b == ' ' || b == '\t' || b == '\n' }

// fieldLine renders one field for the detail view: the key, then the
// value unquoted when it was quoted, so escapes read as what they stand for.
func fieldLine(field string) (key, value string) {
	k, v, ok := strings.Cut(field, "=")
	if !ok || strings.HasPrefix(k, `"`) {
		return "", field
	}
	if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		v = u
	}
	return k, v
}
