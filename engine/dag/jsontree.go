package dag

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSON reads one JSON value into a tree. It is strict where
// encoding/json is lenient: invalid UTF-8, duplicate keys and trailing data
// are errors.
func decodeJSON(file string, data []byte) (val, *Error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if off := invalidUTF8(data); off >= 0 {
		return val{}, syntaxError(file, data, off, "invalid UTF-8 (is this a binary file?)")
	}
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return val{}, &Error{File: file, Msg: "empty file: want a JSON object", Err: ErrSyntax}
	}
	// One value per comma, plus one per non-empty object or array, plus
	// the top: exact but for commas and brackets inside strings.
	n := 1 + bytes.Count(data, []byte{','}) + bytes.Count(data, []byte{'{'}) + bytes.Count(data, []byte{'['})
	t := &tree{text: bytes.Clone(data), nodes: make([]tnode, 0, n), kids: make([]tkid, 0, n)}
	p := jsonParser{t: t, data: data, kids: make([]tkid, 0, 64)}
	p.space()
	p.value()
	if p.errMsg == "" {
		p.space()
		if p.pos < len(p.data) {
			p.fail("unexpected data after the top-level value")
		}
	}
	if p.errMsg != "" {
		return val{}, syntaxError(file, p.data, p.errPos, p.errMsg)
	}
	return t.root(), nil
}

// jsonParser is a recursive-descent parser over the file's bytes. The first
// error stops it: after a syntax error nothing further can be trusted.
type jsonParser struct {
	t      *tree
	data   []byte // the file; t.text starts with a copy of it
	pos    int
	depth  int
	errMsg string
	errPos int
	// kids collects the elements or members of open containers; each is
	// moved to t.kids when its container closes, so siblings sit together.
	kids []tkid
	buf  []byte
}

func (p *jsonParser) fail(format string, args ...any) {
	if p.errMsg == "" {
		p.errMsg, p.errPos = fmt.Sprintf(format, args...), p.pos
	}
}

// found describes the byte at the current position for an error message.
func (p *jsonParser) found() string {
	if p.pos >= len(p.data) {
		return "end of file"
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	return strconv.QuoteRune(r)
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses one value and returns its node index.
func (p *jsonParser) value() uint32 {
	if p.pos >= len(p.data) {
		p.fail("unexpected end of file, expected a value")
		return 0
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		off, n := p.str()
		return p.t.add(tnode{kind: kindString, off: off, n: n})
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true", kindBool, true)
	case c == 'f':
		return p.literal("false", kindBool, false)
	case c == 'n':
		return p.literal("null", kindNull, false)
	}
	p.fail("expected a value, found %s", p.found())
	return 0
}

func (p *jsonParser) literal(word string, kind valueKind, b bool) uint32 {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		p.fail("invalid literal, expected %s", word)
		return 0
	}
	p.pos += len(word)
	return p.t.add(tnode{kind: kind, b: b})
}

func (p *jsonParser) enter() bool {
	p.depth++
	if p.depth > maxNesting {
		p.fail("nested more than %d levels deep", maxNesting)
		return false
	}
	return true
}

// close moves the kids collected since mark to the tree and fills in the
// container's node.
func (p *jsonParser) close(node uint32, mark int) {
	n := &p.t.nodes[node]
	n.off, n.n = uint32(len(p.t.kids)), uint32(len(p.kids)-mark)
	p.t.kids = append(p.t.kids, p.kids[mark:]...)
	p.kids = p.kids[:mark]
}

func (p *jsonParser) object() uint32 {
	if !p.enter() {
		return 0
	}
	start := p.pos
	node := p.t.add(tnode{kind: kindObject})
	mark := len(p.kids)
	if p.objectBody(mark) {
		p.close(node, mark)
		n := &p.t.nodes[node]
		n.rawOff, n.rawN = uint32(start), uint32(p.pos-start)
	}
	p.depth--
	return node
}

// objectBody reads members up to the closing brace; false on an error.
func (p *jsonParser) objectBody(mark int) bool {
	p.pos++                  // {
	var seen map[string]bool // only for big objects; small ones scan keys
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return true
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			p.fail("expected a string object key, found %s", p.found())
			return false
		}
		keyPos := p.pos
		keyOff, keyN := p.str()
		if p.errMsg != "" {
			return false
		}
		key := p.t.str(keyOff, keyN)
		dup := false
		if seen != nil {
			dup = seen[key]
		} else {
			for _, k := range p.kids[mark:] {
				if p.t.str(k.keyOff, k.keyN) == key {
					dup = true
					break
				}
			}
		}
		if dup {
			p.pos = keyPos
			p.fail("duplicate key %q in object", key)
			return false
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			p.fail("expected ':' after object key, found %s", p.found())
			return false
		}
		p.pos++
		p.space()
		v := p.value()
		if p.errMsg != "" {
			return false
		}
		p.kids = append(p.kids, tkid{keyOff: keyOff, keyN: keyN, node: v})
		if n := len(p.kids) - mark; seen == nil && n > 16 {
			seen = make(map[string]bool, 32)
			for _, k := range p.kids[mark:] {
				// Cloned: the text may move as escaped strings are added.
				seen[strings.Clone(p.t.str(k.keyOff, k.keyN))] = true
			}
		} else if seen != nil {
			seen[strings.Clone(key)] = true
		}
		p.space()
		if p.pos >= len(p.data) {
			p.fail("unexpected end of file, expected ',' or '}'")
			return false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case '}':
			p.pos++
			return true
		default:
			p.fail("expected ',' or '}' after object member, found %s", p.found())
			return false
		}
	}
}

func (p *jsonParser) array() uint32 {
	if !p.enter() {
		return 0
	}
	node := p.t.add(tnode{kind: kindArray})
	mark := len(p.kids)
	if p.arrayBody() {
		p.close(node, mark)
	}
	p.depth--
	return node
}

func (p *jsonParser) arrayBody() bool {
	p.pos++ // [
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return true
	}
	for {
		v := p.value()
		if p.errMsg != "" {
			return false
		}
		p.kids = append(p.kids, tkid{node: v})
		p.space()
		if p.pos >= len(p.data) {
			p.fail("unexpected end of file, expected ',' or ']'")
			return false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.space()
		case ']':
			p.pos++
			return true
		default:
			p.fail("expected ',' or ']' after array element, found %s", p.found())
			return false
		}
	}
}

func (p *jsonParser) number() uint32 {
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case digits() == 0:
		p.pos = i
		p.fail("invalid number: expected a digit, found %s", p.found())
		return 0
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			p.fail("invalid number: expected a digit after '.', found %s", p.found())
			return 0
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			p.fail("invalid number: expected a digit in the exponent, found %s", p.found())
			return 0
		}
	}
	p.pos = i
	return p.t.add(tnode{kind: kindNumber, off: uint32(start), n: uint32(i - start)})
}

// str reads a string at p.pos (on the opening quote) and returns where its
// text is: in place in the file when it has no escapes, the common case;
// decoded at the end of the tree's text otherwise.
func (p *jsonParser) str() (off, n uint32) {
	d := p.data
	i := p.pos + 1
	for i < len(d) {
		c := d[i]
		if c == '"' {
			off, n = uint32(p.pos+1), uint32(i-p.pos-1)
			p.pos = i + 1
			return off, n
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.pos = i
			p.fail("invalid control character %s in string", p.found())
			return 0, 0
		}
		i++
	}
	buf := append(p.buf[:0], d[p.pos+1:i]...)
	defer func() { p.buf = buf }()
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return p.t.addBytes(buf)
		case c < 0x20:
			p.pos = i
			p.fail("invalid control character %s in string", p.found())
			return 0, 0
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(d) {
			break
		}
		switch e := d[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d, i+2)
			if !ok {
				p.pos = i
				p.fail("invalid \\u escape in string")
				return 0, 0
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; a lone half is U+FFFD, as
				// encoding/json decodes it.
				if r2, ok := hex4(d, i+2); ok && i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						buf = utf8.AppendRune(buf, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
			continue
		default:
			p.pos = i + 1
			p.fail("invalid escape in string: '\\' followed by %s", p.found())
			return 0, 0
		}
		i += 2
	}
	p.pos = len(d)
	p.fail("unexpected end of file in a string")
	return 0, 0
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

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
	return &Error{File: file, Line: line, Col: col, Msg: oneLine(msg), Err: ErrSyntax}
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
