package dag

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Typed readers over the generic tree (value.go): each reports a value of
// the wrong type at its path and lets building go on, so one pass finds
// every problem of a file.

// at is where a value sits, rendered to a JSON pointer only when there is a
// problem to report: building paths for every valid value would cost more
// than the rest of validation.
type at struct {
	base string // a rendered pointer: "", "/nodes/3"
	key  string // a member below base, or ""
	idx  int    // an element below that, or -1
}

func atKey(base, key string) at { return at{base: base, key: key, idx: -1} }

func (a at) String() string {
	s := a.base
	if a.key != "" {
		s = ptr(s, a.key)
	}
	if a.idx >= 0 {
		s = ptrIndex(s, a.idx)
	}
	return s
}

func (a at) elem(i int) at {
	if a.idx >= 0 {
		return at{base: a.String(), idx: i}
	}
	return at{base: a.base, key: a.key, idx: i}
}

func (a at) member(key string) at { return atKey(a.String(), key) }

func typeName(v val) string {
	if !v.ok() {
		return "missing"
	}
	switch v.kind() {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	}
	return "an object"
}

// unknown reports a member outside the known ones.
func (c *collector) unknown(node string, a at, known []string) {
	c.add(node, a.String(), nil, "unknown field %q (known: %s)", a.key, strings.Join(known, ", "))
}

// The typed readers below return ok=false without a word for an absent
// value, and report one of the wrong type.

func (c *collector) object(node string, a at, v val) (val, bool) {
	if !v.ok() {
		return v, false
	}
	if v.kind() == kindObject {
		return v, true
	}
	c.add(node, a.String(), nil, "must be an object, not %s", typeName(v))
	return val{}, false
}

func (c *collector) array(node string, a at, v val) (val, bool) {
	if !v.ok() {
		return v, false
	}
	if v.kind() == kindArray {
		return v, true
	}
	c.add(node, a.String(), nil, "must be an array, not %s", typeName(v))
	return val{}, false
}

func (c *collector) str(node string, a at, v val) (string, bool) {
	if !v.ok() {
		return "", false
	}
	if v.kind() == kindString {
		return v.text(), true
	}
	c.add(node, a.String(), nil, "must be a string, not %s", typeName(v))
	return "", false
}

func (c *collector) boolean(node string, a at, v val) (bool, bool) {
	if !v.ok() {
		return false, false
	}
	if v.kind() == kindBool {
		return v.boolean(), true
	}
	c.add(node, a.String(), nil, "must be true or false, not %s", typeName(v))
	return false, false
}

// integer accepts whole numbers only: 2.5 retries or 1e99 replicas are
// mistakes worth naming, not values to round.
func (c *collector) integer(node string, a at, v val) (int, bool) {
	if !v.ok() {
		return 0, false
	}
	if v.kind() != kindNumber {
		c.add(node, a.String(), nil, "must be a whole number, not %s", typeName(v))
		return 0, false
	}
	text := v.text()
	n, err := strconv.ParseInt(text, 10, 64)
	if err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
		return int(n), true
	}
	if err == nil || isWholeOverflow(text) {
		c.add(node, a.String(), nil, "number %s is out of range", text)
		return 0, false
	}
	c.add(node, a.String(), nil, "must be a whole number, not %s", text)
	return 0, false
}

func isWholeOverflow(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (c *collector) nonNegative(node string, a at, v val) (int, bool) {
	n, ok := c.integer(node, a, v)
	if ok && n < 0 {
		c.add(node, a.String(), nil, "must not be negative, got %d", n)
		return 0, false
	}
	return n, ok
}

// duration accepts a Go duration string ("1m30s") or whole seconds, and
// refuses negative values: no setting of ours means anything below zero.
func (c *collector) duration(node string, a at, v val) (Duration, bool) {
	if !v.ok() {
		return 0, false
	}
	switch v.kind() {
	case kindString:
		text := v.text()
		d, err := time.ParseDuration(text)
		if err != nil {
			c.add(node, a.String(), nil, "invalid duration %q: want a Go duration like \"1m30s\" or whole seconds", text)
			return 0, false
		}
		if d < 0 {
			c.add(node, a.String(), nil, "must not be negative, got %s", text)
			return 0, false
		}
		return Duration(d), true
	case kindNumber:
		text := v.text()
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			c.add(node, a.String(), nil, "invalid duration %s: want whole seconds or a Go duration string like \"1m30s\"", text)
			return 0, false
		}
		if n < 0 {
			c.add(node, a.String(), nil, "must not be negative, got %d", n)
			return 0, false
		}
		if n > int64(math.MaxInt64/time.Second) {
			c.add(node, a.String(), nil, "duration of %d seconds is out of range", n)
			return 0, false
		}
		return Duration(time.Duration(n) * time.Second), true
	}
	c.add(node, a.String(), nil, "must be a duration (\"1m30s\" or whole seconds), not %s", typeName(v))
	return 0, false
}

func (c *collector) strList(node string, a at, v val) ([]string, bool) {
	arr, ok := c.array(node, a, v)
	if !ok {
		return nil, false
	}
	n := arr.len()
	if n > len(c.strSlab) {
		c.strSlab = make([]string, max(n, 32))
	}
	out := c.strSlab[:0:n]
	c.strSlab = c.strSlab[n:]
	good := true
	for i := 0; i < n; i++ {
		s, ok := c.str(node, a.elem(i), arr.elem(i))
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

func (c *collector) strMap(node string, a at, v val) (map[string]string, bool) {
	o, ok := c.object(node, a, v)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, o.len())
	good := true
	for i := 0; i < o.len(); i++ {
		k := o.key(i)
		s, ok := c.str(node, a.member(k), o.elem(i))
		if !ok {
			good = false
			continue
		}
		out[k] = s
	}
	return out, good
}
