package text

import "unicode/utf8"

// JSON makes encoded JSON safe for a terminal without changing what it
// says. encoding/json escapes C0 controls but writes DEL, C1 controls and
// bidi overrides as they are; JSON writes those here as \u escapes, which
// any JSON reader reads back as the same characters. Outside strings
// encoded JSON is ASCII, so every such character is inside a string, where
// the escape is valid. An invalid byte (only a json.RawMessage can carry
// one) becomes \ufffd, what encoding/json makes of it elsewhere.
//
// Unlike Line and Block, JSON does not change the value: machine-readable
// output keeps the data as it is, escaped in the syntax its readers know.
// b is returned as it is when nothing needs escaping.
func JSON(b []byte) []byte {
	if jsonClean(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				out = append(out, `\u007f`...)
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case unsafeRune(r):
			out = appendHex(out, uint32(r))
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

func jsonClean(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

func appendHex(out []byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	return append(out, '\\', 'u', hex[v>>12&0xf], hex[v>>8&0xf], hex[v>>4&0xf], hex[v&0xf])
}
