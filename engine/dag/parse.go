package dag

import (
	"fmt"
	"path"
)

// Parse reads a DAG file by its extension (.json or .star), validates it and
// returns it with File set to file and Name to NameFromPath(file); callers
// that know the source root overwrite Name. On failure the error is Errors
// and the DAG is nil.
func Parse(file string, data []byte, opts Options) (*DAG, error) {
	if len(data) > MaxFileSize {
		return nil, Errors{TooLarge(file, int64(len(data)))}
	}
	var tree val
	switch ext := path.Ext(file); ext {
	case ExtJSON:
		v, err := decodeJSON(file, data)
		if err != nil {
			return nil, Errors{err}
		}
		tree = v
	case ExtStarlark:
		v, err := evalStarlark(file, data, opts)
		if err != nil {
			return nil, err
		}
		tree = v
	default:
		return nil, Errors{{File: file, Err: ErrInvalid,
			Msg: fmt.Sprintf("unknown DAG file extension %q (want %s or %s)", ext, ExtJSON, ExtStarlark)}}
	}
	c := newCollector(file)
	b := buildDAG(c, tree)
	validate(c, b)
	if err := c.sorted(); err != nil {
		return nil, err
	}
	return b.dag, nil
}

// TooLarge is the error for a file of size bytes over MaxFileSize, for
// callers that check the size before reading a file whole.
func TooLarge(file string, size int64) *Error {
	return &Error{File: file, Err: ErrTooLarge,
		Msg: fmt.Sprintf("file is %d bytes, more than the %d-byte limit", size, MaxFileSize)}
}
