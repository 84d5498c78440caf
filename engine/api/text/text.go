// Package text makes strings that come from outside the engine — DAG file
// names and keys, S3 objects, task output, Kafka payloads, Mode and GitHub
// bodies, error messages quoting any of them — safe to print on a terminal.
//
// A terminal obeys what it is sent: ESC ] 0; retitles the window, ESC [2J
// wipes the screen, a C1 CSI (U+009B) does the same on terminals that honour
// 8-bit controls, and bidi overrides (U+202E) make text read backwards so a
// name can pose as another. Such characters are shown escaped, as Go would
// quote them (\x1b, \u202e), so an operator sees that they are there.
//
// Line escapes everything, newlines included: for names and table cells,
// where a newline would forge a row. Block keeps newlines and tabs: for the
// views that deliberately render multi-line text (task output, diffs).
//
// Diff is Block for diffs, escaping every CR. JSON is for machine-readable
// output: it escapes what encoding/json leaves raw in JSON's own syntax, so
// the value read back is unchanged.
//
// All are idempotent (the escapes are printable) and return their argument
// unchanged, without allocating, when there is nothing to escape.
package text

import (
	"strings"
	"unicode/utf8"
)

// Line returns s with every control, bidi-override and invalid byte
// escaped, newlines and tabs included.
func Line(s string) string { return sanitize(s, false) }

// Block returns s with control, bidi-override and invalid bytes escaped,
// keeping newlines and tabs; a CR before a newline is dropped (CRLF text
// reads as lines), any other CR is escaped, since it rewrites the line.
func Block(s string) string { return sanitize(s, true) }

// Safe reports whether Line(s) == s.
func Safe(s string) bool { return clean(s, false) }

func sanitize(s string, block bool) string {
	if clean(s, block) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != 0x7f:
				b.WriteByte(c)
			case block && (c == '\n' || c == '\t'):
				b.WriteByte(c)
			case block && c == '\r' && i+1 < len(s) && s[i+1] == '\n':
				// CRLF: the newline follows on its own.
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\r':
				b.WriteString(`\r`)
			default:
				writeHex(&b, `\x`, uint32(c), 2)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			writeHex(&b, `\x`, uint32(c), 2)
		case unsafeRune(r):
			writeHex(&b, `\u`, uint32(r), 4)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether s has nothing to escape.
func clean(s string, block bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				if !block || (c != '\n' && c != '\t') {
					return false
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafeRune is a C1 control or a bidi embedding, override or isolate.
func unsafeRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f ||
		r >= 0x202a && r <= 0x202e ||
		r >= 0x2066 && r <= 0x2069
}

func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for shift := (digits - 1) * 4; shift >= 0; shift -= 4 {
		b.WriteByte(hex[v>>uint(shift)&0xf])
	}
}
