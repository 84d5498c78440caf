package dag

import (
	"fmt"
	"strconv"
	"strings"
)

// collector gathers every problem of one file instead of stopping at the
// first, so an operator fixes a file in one pass.
type collector struct {
	file string
	errs Errors
	// reported holds paths that already carry an error, so a later check of
	// the same value (a missing id after a wrongly typed one) stays quiet.
	reported map[string]bool
}

func newCollector(file string) *collector {
	return &collector{file: file, reported: make(map[string]bool)}
}

func (c *collector) add(node, path string, sentinel error, format string, args ...any) {
	if sentinel == nil {
		sentinel = ErrInvalid
	}
	c.reported[path] = true
	c.errs = append(c.errs, &Error{File: c.file, Node: node, Path: path, Msg: fmt.Sprintf(format, args...), Err: sentinel})
}

func (c *collector) has(path string) bool { return c.reported[path] }

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// ptr appends one reference token to a JSON pointer, escaping as RFC 6901
// asks so a key holding "/" cannot fake a deeper path.
func ptr(base string, key string) string {
	if strings.ContainsAny(key, "~/") {
		key = strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
	}
	return base + "/" + key
}

func ptrIndex(base string, i int) string {
	return base + "/" + strconv.Itoa(i)
}
