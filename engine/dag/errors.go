package dag

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels callers act on. Every Error wraps at most one of them.
var (
	ErrSyntax   = errors.New("syntax error")
	ErrTooLarge = errors.New("file too large")
	ErrCycle    = errors.New("dependency cycle")
	ErrInvalid  = errors.New("invalid dag")
	ErrScript   = errors.New("starlark error")
)

// MaxFileSize is the largest DAG file Parse accepts.
const MaxFileSize = 10 << 20

// Error is one problem in one DAG file. File is always set; Node and Path
// when the problem has a place ("/nodes/3/config/command").
type Error struct {
	File string
	Node string
	Path string
	// Line and Col locate syntax errors (1-based; 0 when unknown).
	Line, Col int
	Msg       string
	Err       error // sentinel, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Node != "" {
		fmt.Fprintf(&b, "node %q: ", e.Node)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in one file, in file order. Parse returns it
// (never an empty one) when a file is not a valid DAG.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.Is find a sentinel in any of the errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// AsErrors returns the list of problems in err: the Errors themselves, or a
// single Error for any other error.
func AsErrors(file string, err error) Errors {
	if err == nil {
		return nil
	}
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return Errors{{File: file, Msg: err.Error()}}
}
