package dag

import (
	"strconv"
	"unsafe"
)

// maxNesting bounds objects and arrays inside one another, in JSON files
// and in the values a Starlark script builds; no DAG needs more, and a
// bound keeps every recursive walk shallow.
const maxNesting = 100

// tree is the generic form both file forms meet in: JSON decodes to it,
// Starlark values convert to it, and the model is built from it, so a
// problem gets the same path and message whichever form the file has.
//
// It holds no pointers: values are indexes, strings are offsets into text.
// A DAG file becomes three allocations the garbage collector never scans,
// which is most of what makes parsing fast.
type tree struct {
	// text holds the file (JSON) and every decoded string; it is private
	// and never written after parsing, so strings may point into it.
	text  []byte
	nodes []tnode
	kids  []tkid
}

type tnode struct {
	kind valueKind
	b    bool
	// off, n: a string's or number's text; an array's or object's kids.
	off, n uint32
	// rawOff, rawN: an object's own text in a JSON file, so a node's config
	// is kept byte for byte; rawN is 0 otherwise.
	rawOff, rawN uint32
}

// tkid is an element of an array, or a member of an object with its key.
type tkid struct {
	keyOff, keyN uint32
	node         uint32
}

type valueKind uint8

const (
	kindNull valueKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// val is one value of a tree. The zero val is an absent member, so "is
// required" and "must be an object, not null" stay distinct.
type val struct {
	t *tree
	i uint32
}

func (v val) ok() bool { return v.t != nil }

func (v val) node() *tnode { return &v.t.nodes[v.i] }

func (v val) kind() valueKind { return v.node().kind }

func (v val) boolean() bool { return v.node().b }

func (v val) text() string {
	n := v.node()
	return v.t.str(n.off, n.n)
}

// len is the number of elements or members.
func (v val) len() int {
	switch n := v.node(); n.kind {
	case kindArray, kindObject:
		return int(n.n)
	}
	return 0
}

func (v val) kid(i int) tkid { return v.t.kids[v.node().off+uint32(i)] }

// elem is the i-th element of an array or value of an object member.
func (v val) elem(i int) val { return val{v.t, v.kid(i).node} }

// key is the i-th member name of an object.
func (v val) key(i int) string {
	k := v.kid(i)
	return v.t.str(k.keyOff, k.keyN)
}

// get returns an object member, or the zero val when it is absent.
func (v val) get(key string) val {
	n := v.node()
	for _, k := range v.t.kids[n.off : n.off+n.n] {
		if v.t.str(k.keyOff, k.keyN) == key {
			return val{v.t, k.node}
		}
	}
	return val{}
}

func (v val) raw() []byte {
	n := v.node()
	if n.rawN == 0 {
		return nil
	}
	return v.t.text[n.rawOff : n.rawOff+n.rawN]
}

// str views part of text as a string without a copy: text is never
// written once the tree is built.
func (t *tree) str(off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&t.text[off], n)
}

func (t *tree) add(n tnode) uint32 {
	t.nodes = append(t.nodes, n)
	return uint32(len(t.nodes) - 1)
}

// addText stores a string built elsewhere (an unescaped JSON string, a
// Starlark string) and returns its offset.
func (t *tree) addText(s string) (off, n uint32) {
	off = uint32(len(t.text))
	t.text = append(t.text, s...)
	return off, uint32(len(s))
}

func (t *tree) addBytes(b []byte) (off, n uint32) {
	off = uint32(len(t.text))
	t.text = append(t.text, b...)
	return off, uint32(len(b))
}

func (t *tree) root() val { return val{t, 0} }

// appendJSON encodes a value. Objects from a file are copied as written;
// Starlark-built ones are encoded member by member, in order.
func appendJSON(b []byte, v val) []byte {
	if !v.ok() {
		return append(b, "null"...)
	}
	switch v.kind() {
	case kindBool:
		return strconv.AppendBool(b, v.boolean())
	case kindNumber:
		return append(b, v.text()...)
	case kindString:
		return appendJSONString(b, v.text())
	case kindArray:
		b = append(b, '[')
		for i := 0; i < v.len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, v.elem(i))
		}
		return append(b, ']')
	case kindObject:
		if raw := v.raw(); raw != nil {
			return append(b, raw...)
		}
		b = append(b, '{')
		for i := 0; i < v.len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v.key(i))
			b = append(b, ':')
			b = appendJSON(b, v.elem(i))
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
