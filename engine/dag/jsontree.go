package dag

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// missing marks an absent object member in the generic tree, so "config is
// required" and "config must be an object" (for null) stay distinct.
type missingValue struct{}

var missing any = missingValue{}

// decodeJSON reads one JSON value into a generic tree: map[string]any,
// []any, string, json.Number, bool and nil. It refuses invalid UTF-8 (which
// encoding/json would silently replace) and anything after the value.
func decodeJSON(file string, data []byte) (any, *Error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if off := invalidUTF8(data); off >= 0 {
		return nil, syntaxError(file, data, off, "invalid UTF-8 (is this a binary file?)")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: file, Msg: "empty file: want a JSON object", Err: ErrSyntax}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			off := int(se.Offset)
			// Offset counts the byte that failed; point at it, not after it.
			if off > 0 {
				off--
			}
			msg := se.Error()
			if strings.Contains(msg, "exceeded max depth") {
				msg = "nested too deeply (more than 10000 levels)"
			}
			return nil, syntaxError(file, data, off, msg)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, syntaxError(file, data, len(data), "unexpected end of file: unclosed object, array or string")
		default:
			return nil, &Error{File: file, Msg: err.Error(), Err: ErrSyntax}
		}
	}
	off := int(dec.InputOffset())
	for off < len(data) && isJSONSpace(data[off]) {
		off++
	}
	if off < len(data) {
		return nil, syntaxError(file, data, off, "unexpected data after the top-level value")
	}
	return v, nil
}

func isJSONSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// invalidUTF8 returns the offset of the first byte that is not UTF-8, or -1.
func invalidUTF8(data []byte) int {
	if utf8.Valid(data) {
		return -1
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func syntaxError(file string, data []byte, off int, msg string) *Error {
	line, col := lineCol(data, off)
	return &Error{File: file, Line: line, Col: col, Msg: msg, Err: ErrSyntax}
}

// lineCol turns a byte offset into a 1-based line and a 1-based column
// counted in characters, as editors show them.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, 1 + utf8.RuneCount(before)
}

func jsonNumber(s string) json.Number { return json.Number(s) }
