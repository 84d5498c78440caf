package dag

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Limits of one Starlark evaluation: a DAG script computes a structure, so
// anything past these is a bug or an attack, not a bigger DAG.
const (
	StarlarkMaxSteps = 10_000_000
	StarlarkTimeout  = 2 * time.Second
	// maxValueDepth bounds nesting of the dag value (and catches a list
	// that contains itself).
	maxValueDepth = 64
)

var starlarkFileOptions = &syntax.FileOptions{
	// DAG scripts build node lists in loops at the top level.
	TopLevelControl: true,
	GlobalReassign:  true,
	While:           true,
	Set:             true,
	// Recursion stays off: Starlark recursion runs on the Go stack, which
	// cannot be bounded safely.
}

// evalStarlark runs a .star file and converts its global dag into the
// generic tree the JSON form produces.
func evalStarlark(file string, data []byte, opts Options) (any, error) {
	thread := &starlark.Thread{
		Name:  file,
		Print: func(*starlark.Thread, string) {}, // a DAG file has no stdout
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load() is not allowed: a DAG file must be self-contained")
		},
	}
	thread.SetMaxExecutionSteps(StarlarkMaxSteps)
	timer := time.AfterFunc(StarlarkTimeout, func() { thread.Cancel("timeout") })
	defer timer.Stop()

	predeclared := starlark.StringDict{"env": envBuiltin(opts.Env)}
	globals, err := starlark.ExecFileOptions(starlarkFileOptions, thread, file, data, predeclared)
	if err != nil {
		return nil, Errors{starlarkError(file, thread, err)}
	}
	v, ok := globals["dag"]
	if !ok {
		return nil, Errors{{File: file, Err: ErrScript, Msg: "the script must set a global named dag to a dict"}}
	}
	if _, ok := v.(*starlark.Dict); !ok {
		return nil, Errors{{File: file, Err: ErrScript, Msg: fmt.Sprintf("dag must be a dict, not %s", v.Type())}}
	}
	c := newCollector(file)
	tree := toTree(c, "", v, 0)
	if err := c.err(); err != nil {
		return nil, err
	}
	return tree, nil
}

func envBuiltin(lookup func(string) (string, bool)) *starlark.Builtin {
	return starlark.NewBuiltin("env", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
			return nil, err
		}
		if lookup != nil {
			if v, ok := lookup(name); ok {
				return starlark.String(v), nil
			}
		}
		return def, nil
	})
}

func starlarkError(file string, thread *starlark.Thread, err error) *Error {
	var se syntax.Error
	if errors.As(err, &se) {
		return &Error{File: file, Line: int(se.Pos.Line), Col: int(se.Pos.Col), Msg: se.Msg, Err: ErrSyntax}
	}
	e := &Error{File: file, Msg: err.Error(), Err: ErrScript}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e.Msg = ee.Msg
		if len(ee.CallStack) > 0 {
			pos := ee.CallStack.At(0).Pos
			e.Line, e.Col = int(pos.Line), int(pos.Col)
		}
	}
	if thread.ExecutionSteps() >= StarlarkMaxSteps {
		e.Msg = fmt.Sprintf("script ran more than %d steps (an endless loop?)", StarlarkMaxSteps)
	}
	return e
}

// toTree converts a Starlark value to the generic tree, reporting values
// JSON cannot hold at their path.
func toTree(c *collector, path string, v starlark.Value, depth int) any {
	if depth > maxValueDepth {
		c.add("", path, ErrScript, "nested more than %d levels deep (does a list contain itself?)", maxValueDepth)
		return nil
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.Bool:
		return bool(v)
	case starlark.Int:
		return jsonNumber(v.String())
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			c.add("", path, ErrScript, "cannot represent %s in a DAG", v.String())
			return nil
		}
		return jsonNumber(strconv.FormatFloat(f, 'g', -1, 64))
	case starlark.String:
		return string(v)
	case *starlark.List:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toTree(c, ptrIndex(path, i), v.Index(i), depth+1)
		}
		return out
	case starlark.Tuple:
		out := make([]any, len(v))
		for i := range out {
			out[i] = toTree(c, ptrIndex(path, i), v[i], depth+1)
		}
		return out
	case *starlark.Dict:
		out := make(object, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				c.add("", path, ErrScript, "dict key %s must be a string, not %s", kv[0].String(), kv[0].Type())
				continue
			}
			out[string(k)] = toTree(c, ptr(path, string(k)), kv[1], depth+1)
		}
		return out
	}
	c.add("", path, ErrScript, "a %s cannot be part of a DAG (want dict, list, string, number, bool or None)", v.Type())
	return nil
}
