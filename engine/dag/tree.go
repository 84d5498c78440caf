package dag

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The generic tree is the meeting point of both file forms: JSON decodes to
// it, Starlark values convert to it, and the model is built from it, so a
// problem gets the same path and message whichever form the file has.
type object = map[string]any

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case object:
		return "an object"
	case missingValue:
		return "missing"
	default:
		_ = v
		return "an unknown value"
	}
}

func member(m object, key string) any {
	v, ok := m[key]
	if !ok {
		return missing
	}
	return v
}

// unknownFields reports members outside known, sorted so the error list is
// the same on every run.
func (c *collector) unknownFields(node, path string, m object, known ...string) {
	var extra []string
	for k := range m {
		found := false
		for _, kk := range known {
			if k == kk {
				found = true
				break
			}
		}
		if !found {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		c.add(node, ptr(path, k), nil, "unknown field %q (known: %s)", k, strings.Join(known, ", "))
	}
}

func (c *collector) object(node, path string, v any) (object, bool) {
	switch v := v.(type) {
	case missingValue:
		return nil, false
	case object:
		return v, true
	}
	c.add(node, path, nil, "must be an object, not %s", typeName(v))
	return nil, false
}

func (c *collector) array(node, path string, v any) ([]any, bool) {
	switch v := v.(type) {
	case missingValue:
		return nil, false
	case []any:
		return v, true
	}
	c.add(node, path, nil, "must be an array, not %s", typeName(v))
	return nil, false
}

func (c *collector) str(node, path string, v any) (string, bool) {
	switch v := v.(type) {
	case missingValue:
		return "", false
	case string:
		return v, true
	}
	c.add(node, path, nil, "must be a string, not %s", typeName(v))
	return "", false
}

func (c *collector) boolean(node, path string, v any) (bool, bool) {
	switch v := v.(type) {
	case missingValue:
		return false, false
	case bool:
		return v, true
	}
	c.add(node, path, nil, "must be true or false, not %s", typeName(v))
	return false, false
}

// integer accepts whole numbers only: 2.5 retries or 1e99 replicas are
// mistakes worth naming, not values to round.
func (c *collector) integer(node, path string, v any) (int, bool) {
	switch v := v.(type) {
	case missingValue:
		return 0, false
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), true
		}
		if err == nil || isWholeOverflow(string(v)) {
			c.add(node, path, nil, "number %s is out of range", v)
			return 0, false
		}
		c.add(node, path, nil, "must be a whole number, not %s", v)
		return 0, false
	}
	c.add(node, path, nil, "must be a whole number, not %s", typeName(v))
	return 0, false
}

func isWholeOverflow(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (c *collector) nonNegative(node, path string, v any) (int, bool) {
	n, ok := c.integer(node, path, v)
	if ok && n < 0 {
		c.add(node, path, nil, "must not be negative, got %d", n)
		return 0, false
	}
	return n, ok
}

// duration accepts a Go duration string ("1m30s") or whole seconds, and
// refuses negative values: no setting of ours means anything below zero.
func (c *collector) duration(node, path string, v any) (Duration, bool) {
	switch v := v.(type) {
	case missingValue:
		return 0, false
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			c.add(node, path, nil, "invalid duration %q: want a Go duration like \"1m30s\" or whole seconds", v)
			return 0, false
		}
		if d < 0 {
			c.add(node, path, nil, "must not be negative, got %s", v)
			return 0, false
		}
		return Duration(d), true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			c.add(node, path, nil, "invalid duration %s: want whole seconds or a Go duration string like \"1m30s\"", v)
			return 0, false
		}
		if n < 0 {
			c.add(node, path, nil, "must not be negative, got %d", n)
			return 0, false
		}
		if n > int64(math.MaxInt64/time.Second) {
			c.add(node, path, nil, "duration of %d seconds is out of range", n)
			return 0, false
		}
		return Duration(time.Duration(n) * time.Second), true
	}
	c.add(node, path, nil, "must be a duration (\"1m30s\" or whole seconds), not %s", typeName(v))
	return 0, false
}

func (c *collector) strList(node, path string, v any) ([]string, bool) {
	arr, ok := c.array(node, path, v)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	good := true
	for i, e := range arr {
		s, ok := c.str(node, ptrIndex(path, i), e)
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

func (c *collector) strMap(node, path string, v any) (map[string]string, bool) {
	m, ok := c.object(node, path, v)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	good := true
	for _, k := range sortedKeys(m) {
		s, ok := c.str(node, ptr(path, k), m[k])
		if !ok {
			good = false
			continue
		}
		out[k] = s
	}
	return out, good
}

func sortedKeys(m object) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
