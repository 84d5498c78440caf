package dag

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Limits of one Starlark evaluation: a DAG script computes a structure, so
// anything past these is a bug or an attack, not a bigger DAG.
const (
	StarlarkMaxSteps = 10_000_000
	StarlarkTimeout  = 2 * time.Second
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
func evalStarlark(file string, data []byte, opts Options) (v val, err error) {
	// The interpreter is not ours: should it panic on some input, that file
	// is invalid, and the engine that loads it lives on. The fuzz target
	// fails on this message, so such a bug would not go unnoticed.
	defer func() {
		if r := recover(); r != nil {
			v, err = val{}, Errors{{File: file, Err: ErrScript, Msg: fmt.Sprintf("internal error in the Starlark interpreter: %v", r)}}
		}
	}()
	if err := precheckStarlark(file, data); err != nil {
		return val{}, Errors{err}
	}
	f, err := starlarkFileOptions.Parse(file, data, 0)
	if err != nil {
		return val{}, starlarkErrors(file, nil, "", err)
	}
	if serr := guardTree(f); serr != nil {
		return val{}, starlarkErrors(file, nil, "", *serr)
	}
	predeclared := guards()
	predeclared["env"] = envBuiltin(opts.Env, opts.EnvAllow)
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return val{}, starlarkErrors(file, nil, "", err)
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
		return val{}, starlarkErrors(file, thread, reason, err)
	}
	dagValue, ok := globals["dag"]
	if !ok {
		return val{}, Errors{{File: file, Err: ErrScript, Msg: "the script must set a global named dag to a dict"}}
	}
	if _, ok := dagValue.(*starlark.Dict); !ok {
		return val{}, Errors{{File: file, Err: ErrScript, Msg: fmt.Sprintf("dag must be a dict, not %s", dagValue.Type())}}
	}
	c := newCollector(file)
	t := &tree{}
	toTree(c, t, "", dagValue, nil)
	if err := c.err(); err != nil {
		return val{}, err
	}
	return t.root(), nil
}

// envBuiltin answers env(name, default): the default for a variable the
// file may not see, exactly as for an unset one, so probing learns nothing.
func envBuiltin(lookup func(string) (string, bool), allow []string) *starlark.Builtin {
	return starlark.NewBuiltin("env", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "default?", &def); err != nil {
			return nil, err
		}
		if lookup != nil && EnvVisible(name, allow) {
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
		return Errors{{File: file, Line: int(se.Pos.Line), Col: int(se.Pos.Col), Msg: oneLine(se.Msg), Err: ErrSyntax}}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		es := make(Errors, len(rl))
		for i, re := range rl {
			es[i] = &Error{File: file, Line: int(re.Pos.Line), Col: int(re.Pos.Col), Msg: oneLine(re.Msg), Err: ErrSyntax}
		}
		return es
	}
	e := &Error{File: file, Msg: oneLine(err.Error()), Err: ErrScript}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e.Msg = oneLine(ee.Msg)
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

// toTree adds a Starlark value to t and returns its node, reporting values
// JSON cannot hold at their path. ancestors holds the lists and dicts being
// converted above v, so a value that contains itself is reported instead of
// followed forever.
func toTree(c *collector, t *tree, path string, v starlark.Value, ancestors []starlark.Value) uint32 {
	null := func() uint32 { return t.add(tnode{kind: kindNull}) }
	switch v.(type) {
	case *starlark.List, *starlark.Dict:
		for _, a := range ancestors {
			if a == v {
				c.add("", path, ErrScript, "a %s that contains itself cannot be part of a DAG", v.Type())
				return null()
			}
		}
		if len(ancestors) >= maxNesting {
			c.add("", path, ErrScript, "nested more than %d levels deep", maxNesting)
			return null()
		}
		ancestors = append(ancestors, v)
	}
	text := func(kind valueKind, s string) uint32 {
		off, n := t.addText(s)
		return t.add(tnode{kind: kind, off: off, n: n})
	}
	// Containers reserve their node first, so the root is node 0, and
	// collect their kids locally: the kids of nested containers land in
	// t.kids meanwhile, and siblings must sit together.
	container := func(kind valueKind, n int, kid func(i int) (tkid, bool)) uint32 {
		node := t.add(tnode{kind: kind})
		kids := make([]tkid, 0, n)
		for i := 0; i < n; i++ {
			if k, ok := kid(i); ok {
				kids = append(kids, k)
			}
		}
		t.nodes[node].off, t.nodes[node].n = uint32(len(t.kids)), uint32(len(kids))
		t.kids = append(t.kids, kids...)
		return node
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return null()
	case starlark.Bool:
		return t.add(tnode{kind: kindBool, b: bool(v)})
	case starlark.Int:
		return text(kindNumber, v.String())
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			c.add("", path, ErrScript, "cannot represent %s in a DAG", v.String())
			return null()
		}
		return text(kindNumber, strconv.FormatFloat(f, 'g', -1, 64))
	case starlark.String:
		if !utf8.ValidString(string(v)) {
			c.add("", path, ErrScript, "string %s is not valid UTF-8", v.String())
			return null()
		}
		return text(kindString, string(v))
	case *starlark.List:
		return container(kindArray, v.Len(), func(i int) (tkid, bool) {
			return tkid{node: toTree(c, t, ptrIndex(path, i), v.Index(i), ancestors)}, true
		})
	case starlark.Tuple:
		return container(kindArray, len(v), func(i int) (tkid, bool) {
			return tkid{node: toTree(c, t, ptrIndex(path, i), v[i], ancestors)}, true
		})
	case *starlark.Dict:
		items := v.Items()
		return container(kindObject, len(items), func(i int) (tkid, bool) {
			k, ok := items[i][0].(starlark.String)
			if !ok {
				c.add("", path, ErrScript, "dict key %s must be a string, not %s", items[i][0].String(), items[i][0].Type())
				return tkid{}, false
			}
			if !utf8.ValidString(string(k)) {
				c.add("", path, ErrScript, "dict key %s is not valid UTF-8", k.String())
				return tkid{}, false
			}
			keyOff, keyN := t.addText(string(k))
			return tkid{keyOff: keyOff, keyN: keyN, node: toTree(c, t, ptr(path, string(k)), items[i][1], ancestors)}, true
		})
	}
	c.add("", path, ErrScript, "a %s cannot be part of a DAG (want dict, list, string, number, bool or None)", v.Type())
	return null()
}
