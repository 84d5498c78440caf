package dag

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.starlark.net/resolve"
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
	if err := precheckStarlark(file, data); err != nil {
		return nil, Errors{err}
	}
	f, err := starlarkFileOptions.Parse(file, data, 0)
	if err != nil {
		return nil, starlarkErrors(file, nil, "", err)
	}
	if serr := guardTree(f); serr != nil {
		return nil, starlarkErrors(file, nil, "", *serr)
	}
	predeclared := guards()
	predeclared["env"] = envBuiltin(opts.Env)
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return nil, starlarkErrors(file, nil, "", err)
	}
	thread := &starlark.Thread{
		Name:  file,
		Print: func(*starlark.Thread, string) {}, // a DAG file has no stdout
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load() is not allowed: a DAG file must be self-contained")
		},
	}
	thread.SetMaxExecutionSteps(StarlarkMaxSteps)
	stop := watch(thread)
	globals, err := prog.Init(thread, predeclared)
	reason := stop()
	if err != nil {
		return nil, starlarkErrors(file, thread, reason, err)
	}
	v, ok := globals["dag"]
	if !ok {
		return nil, Errors{{File: file, Err: ErrScript, Msg: "the script must set a global named dag to a dict"}}
	}
	if _, ok := v.(*starlark.Dict); !ok {
		return nil, Errors{{File: file, Err: ErrScript, Msg: fmt.Sprintf("dag must be a dict, not %s", v.Type())}}
	}
	c := newCollector(file)
	tree := toTree(c, "", v, nil)
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

// starlarkErrors turns what the Starlark parser, resolver or interpreter
// returned into our errors, with the script's own line and column.
func starlarkErrors(file string, thread *starlark.Thread, reason string, err error) Errors {
	var se syntax.Error
	if errors.As(err, &se) {
		return Errors{{File: file, Line: int(se.Pos.Line), Col: int(se.Pos.Col), Msg: se.Msg, Err: ErrSyntax}}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		es := make(Errors, len(rl))
		for i, re := range rl {
			es[i] = &Error{File: file, Line: int(re.Pos.Line), Col: int(re.Pos.Col), Msg: re.Msg, Err: ErrSyntax}
		}
		return es
	}
	e := &Error{File: file, Msg: err.Error(), Err: ErrScript}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e.Msg = ee.Msg
		// The innermost frame may be a builtin, which has no position.
		for i := 0; i < len(ee.CallStack); i++ {
			if pos := ee.CallStack.At(i).Pos; pos.IsValid() && pos.Filename() != "<builtin>" {
				e.Line, e.Col = int(pos.Line), int(pos.Col)
				break
			}
		}
	}
	switch {
	case reason == cancelTimeout:
		e.Msg = fmt.Sprintf("script ran longer than %s (an endless loop?)", StarlarkTimeout)
	case reason == cancelMemory:
		e.Msg = fmt.Sprintf("script grew memory by more than %d MiB (a memory bomb?)", StarlarkMaxMemory>>20)
	case thread != nil && thread.ExecutionSteps() >= StarlarkMaxSteps:
		e.Msg = fmt.Sprintf("script ran more than %d steps (an endless loop?)", StarlarkMaxSteps)
	}
	return Errors{e}
}

// toTree converts a Starlark value to the generic tree, reporting values
// JSON cannot hold at their path.
// ancestors holds the lists and dicts being converted above v, so a value
// that contains itself is reported instead of followed forever.
func toTree(c *collector, path string, v starlark.Value, ancestors []starlark.Value) any {
	switch v.(type) {
	case *starlark.List, *starlark.Dict:
		for _, a := range ancestors {
			if a == v {
				c.add("", path, ErrScript, "a %s that contains itself cannot be part of a DAG", v.Type())
				return nil
			}
		}
		if len(ancestors) >= maxValueDepth {
			c.add("", path, ErrScript, "nested more than %d levels deep", maxValueDepth)
			return nil
		}
		ancestors = append(ancestors, v)
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
			out[i] = toTree(c, ptrIndex(path, i), v.Index(i), ancestors)
		}
		return out
	case starlark.Tuple:
		out := make([]any, len(v))
		for i := range out {
			out[i] = toTree(c, ptrIndex(path, i), v[i], ancestors)
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
			out[string(k)] = toTree(c, ptr(path, string(k)), kv[1], ancestors)
		}
		return out
	}
	c.add("", path, ErrScript, "a %s cannot be part of a DAG (want dict, list, string, number, bool or None)", v.Type())
	return nil
}
