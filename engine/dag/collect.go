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
	// strSlab backs the string lists of a DAG (depends_on, argv) in a few
	// chunks instead of one allocation per list.
	strSlab []string
	// reported holds paths that already carry an error, so a later check of
	// the same value (a missing id after a wrongly typed one) stays quiet.
	reported map[string]bool
}

func newCollector(file string) *collector {
	return &collector{file: file}
}

func (c *collector) add(node, path string, sentinel error, format string, args ...any) {
	if sentinel == nil {
		sentinel = ErrInvalid
	}
	c.mark(path)
	c.errs = append(c.errs, &Error{File: c.file, Node: node, Path: path, Msg: oneLine(fmt.Sprintf(format, args...)), Err: sentinel})
}

// oneLine keeps a message on one line, whatever text from the file it
// quotes: one problem is one line of output.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

// mark records a path as dealt with without reporting it.
func (c *collector) mark(path string) {
	if c.reported == nil {
		c.reported = make(map[string]bool)
	}
	c.reported[path] = true
}

func (c *collector) has(a at) bool {
	return len(c.reported) > 0 && c.reported[a.String()]
}

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
	if i < len(indexPaths.nodes) {
		switch base {
		case "/nodes":
			return indexPaths.nodes[i]
		case "/edges":
			return indexPaths.edges[i]
		}
	}
	return base + "/" + strconv.Itoa(i)
}

// indexPaths are the pointers of the first nodes and edges, rendered once
// per process: validation needs one per node, error or not.
var indexPaths = func() (p struct{ nodes, edges, configs []string }) {
	const n = 1024
	p.nodes = make([]string, n)
	p.edges = make([]string, n)
	p.configs = make([]string, n)
	for i := 0; i < n; i++ {
		p.nodes[i] = "/nodes/" + strconv.Itoa(i)
		p.edges[i] = "/edges/" + strconv.Itoa(i)
		p.configs[i] = p.nodes[i] + "/config"
	}
	return p
}()

// configPath is "/nodes/i/config".
func configPath(i int) string {
	if i < len(indexPaths.configs) {
		return indexPaths.configs[i]
	}
	return ptrIndex("/nodes", i) + "/config"
}
