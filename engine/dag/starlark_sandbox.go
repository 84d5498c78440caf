package dag

import (
	"fmt"
	"math/bits"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The interpreter bounds steps and wall-clock time itself; the rest of the
// sandbox is ours. Three gaps matter for a file anyone may drop in a folder:
//
//   - the parser and compiler recurse per nesting level on the Go stack, and
//     a Go stack overflow kills the process, so source nesting is bounded
//     before parsing (precheckStarlark);
//   - one operation can allocate gigabytes in a single step ([0] * 1e9,
//     sep.join, s.replace("", s), list(range(1e9))), so those are routed
//     through size-checking builtins by rewriting the syntax tree;
//   - growth in many small steps (s = s + s) is caught by a watchdog that
//     cancels the thread once the live heap has grown by StarlarkMaxMemory.
const (
	// StarlarkMaxValue bounds the result of one repeat, join, replace or
	// range, in elements or bytes.
	StarlarkMaxValue = 1 << 20
	// StarlarkMaxMemory is how much the process heap may grow while a
	// script runs. The heap is shared, so this is a guard against bombs,
	// not an accounting of the script's own memory.
	StarlarkMaxMemory = 64 << 20
	// maxSourceNesting bounds brackets open at once in a .star file.
	maxSourceNesting = 100
	// maxStatementOps bounds operators and keywords in one statement; each
	// can add a level of recursion in the parser or compiler.
	maxStatementOps = 5000
)

// Names of the guard builtins the rewritten tree calls. A script could call
// them by name too; that is harmless, they only add checks.
const (
	guardMul   = "__sluice_mul__"
	guardAttr  = "__sluice_attr__"
	guardRange = "range"
)

// precheckStarlark refuses source whose nesting could overflow the Go stack
// in the parser, before the parser sees it. It is a lexer in miniature:
// strings and comments are skipped, brackets counted, and operators and
// keywords counted per logical line.
func precheckStarlark(file string, src []byte) *Error {
	depth, ops := 0, 0
	fail := func(off int, msg string) *Error {
		line, col := lineCol(src, off)
		return &Error{File: file, Line: line, Col: col, Msg: msg, Err: ErrSyntax}
	}
	for i := 0; i < len(src); i++ {
		switch ch := src[i]; ch {
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i-- // let the newline end the statement
		case '\'', '"':
			triple := i+2 < len(src) && src[i+1] == ch && src[i+2] == ch
			if triple {
				i += 2
			}
			for i++; i < len(src); i++ {
				if src[i] == '\\' {
					i++
					continue
				}
				if src[i] == '\n' && !triple {
					break
				}
				if src[i] == ch && (!triple || i+2 < len(src) && src[i+1] == ch && src[i+2] == ch) {
					if triple {
						i += 2
					}
					break
				}
			}
		case '(', '[', '{':
			depth++
			if depth > maxSourceNesting {
				return fail(i, fmt.Sprintf("brackets nested more than %d levels deep", maxSourceNesting))
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		case '\\':
			i++ // a line continuation does not end the statement
		case '\n', ';':
			if depth == 0 {
				ops = 0
			}
		case '+', '-', '*', '/', '%', '~', '&', '|', '^', '<', '>', '=', '!':
			ops++
		default:
			if isIdentStart(ch) {
				j := i
				for j < len(src) && isIdentPart(src[j]) {
					j++
				}
				switch string(src[i:j]) {
				case "not", "and", "or", "if", "else", "lambda", "in", "for":
					ops++
				}
				i = j - 1
			}
		}
		if ops > maxStatementOps {
			return fail(i, fmt.Sprintf("statement too complex: more than %d operators", maxStatementOps))
		}
	}
	return nil
}

func isIdentStart(b byte) bool { return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isIdentPart(b byte) bool  { return isIdentStart(b) || b >= '0' && b <= '9' }

// guardTree rewrites a parsed file in place so that every "*" and every
// .join/.replace goes through a size check, and reports load statements,
// which a self-contained DAG file must not have.
func guardTree(f *syntax.File) *syntax.Error {
	g := &guarder{}
	g.stmts(f.Stmts)
	return g.err
}

type guarder struct{ err *syntax.Error }

func (g *guarder) stmts(ss []syntax.Stmt) {
	for _, s := range ss {
		g.stmt(s)
	}
}

func (g *guarder) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		s.RHS = g.expr(s.RHS)
		if s.Op == syntax.STAR_EQ {
			// x *= n becomes x = x * n: a list no longer grows in place,
			// which no DAG script can tell apart.
			s.Op = syntax.EQ
			s.RHS = guardCall(guardMul, s.OpPos, loadCopy(s.LHS), s.RHS)
		}
		s.LHS = g.target(s.LHS)
	case *syntax.DefStmt:
		g.params(s.Params)
		g.stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = g.expr(s.X)
	case *syntax.IfStmt:
		s.Cond = g.expr(s.Cond)
		g.stmts(s.True)
		g.stmts(s.False)
	case *syntax.ForStmt:
		s.X = g.expr(s.X)
		g.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = g.expr(s.Cond)
		g.stmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = g.expr(s.Result)
		}
	case *syntax.LoadStmt:
		if g.err == nil {
			g.err = &syntax.Error{Pos: s.Load, Msg: "load() is not allowed: a DAG file must be self-contained"}
		}
	}
}

// target guards the sub-expressions of an assignment target but keeps its
// own shape, which must stay assignable.
func (g *guarder) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.IndexExpr:
		e.X = g.expr(e.X)
		e.Y = g.expr(e.Y)
	case *syntax.DotExpr:
		e.X = g.expr(e.X)
	case *syntax.ParenExpr:
		e.X = g.target(e.X)
	case *syntax.TupleExpr:
		for i := range e.List {
			e.List[i] = g.target(e.List[i])
		}
	case *syntax.ListExpr:
		for i := range e.List {
			e.List[i] = g.target(e.List[i])
		}
	}
	return e
}

func (g *guarder) params(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = g.expr(b.Y)
		}
	}
}

func (g *guarder) exprs(es []syntax.Expr) {
	for i := range es {
		es[i] = g.expr(es[i])
	}
}

func (g *guarder) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.Y = g.expr(e.Y)
		if e.Op == syntax.EQ { // a keyword argument: the name stays
			return e
		}
		e.X = g.expr(e.X)
		if e.Op == syntax.STAR {
			return guardCall(guardMul, e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = g.expr(e.Fn)
		g.exprs(e.Args)
	case *syntax.Comprehension:
		e.Body = g.expr(e.Body)
		for _, cl := range e.Clauses {
			switch cl := cl.(type) {
			case *syntax.ForClause:
				cl.X = g.expr(cl.X)
			case *syntax.IfClause:
				cl.Cond = g.expr(cl.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond = g.expr(e.Cond)
		e.True = g.expr(e.True)
		e.False = g.expr(e.False)
	case *syntax.DictEntry:
		e.Key = g.expr(e.Key)
		e.Value = g.expr(e.Value)
	case *syntax.DictExpr:
		g.exprs(e.List)
	case *syntax.DotExpr:
		e.X = g.expr(e.X)
		if e.Name.Name == "join" || e.Name.Name == "replace" {
			name := &syntax.Literal{Token: syntax.STRING, TokenPos: e.NamePos, Raw: `"` + e.Name.Name + `"`, Value: e.Name.Name}
			return guardCall(guardAttr, e.Dot, e.X, name)
		}
	case *syntax.IndexExpr:
		e.X = g.expr(e.X)
		e.Y = g.expr(e.Y)
	case *syntax.LambdaExpr:
		g.params(e.Params)
		e.Body = g.expr(e.Body)
	case *syntax.ListExpr:
		g.exprs(e.List)
	case *syntax.ParenExpr:
		e.X = g.expr(e.X)
	case *syntax.SliceExpr:
		e.X = g.expr(e.X)
		for _, p := range []*syntax.Expr{&e.Lo, &e.Hi, &e.Step} {
			if *p != nil {
				*p = g.expr(*p)
			}
		}
	case *syntax.TupleExpr:
		g.exprs(e.List)
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = g.expr(e.X)
		}
	}
	return e
}

func guardCall(name string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: name}, Lparen: pos, Args: args, Rparen: pos}
}

// loadCopy duplicates an assignment target for reading, so the resolver
// sees two distinct identifiers rather than one node in two roles.
func loadCopy(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}
	case *syntax.IndexExpr:
		c := *e
		return &c
	case *syntax.DotExpr:
		c := *e
		return &c
	case *syntax.ParenExpr:
		return &syntax.ParenExpr{Lparen: e.Lparen, X: loadCopy(e.X), Rparen: e.Rparen}
	}
	return e
}

// guards are the builtins the rewritten tree calls.
func guards() starlark.StringDict {
	universalRange := starlark.Universe["range"]
	return starlark.StringDict{
		guardMul: starlark.NewBuiltin("*", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			x, y := args[0], args[1]
			if err := checkRepeat(x, y); err != nil {
				return nil, err
			}
			if err := checkRepeat(y, x); err != nil {
				return nil, err
			}
			return starlark.Binary(syntax.STAR, x, y)
		}),
		guardAttr: starlark.NewBuiltin("getattr", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
			x, name := args[0], string(args[1].(starlark.String))
			if s, ok := x.(starlark.String); ok {
				return guardedStringMethod(s, name)
			}
			if ha, ok := x.(starlark.HasAttrs); ok {
				v, err := ha.Attr(name)
				if err != nil || v != nil {
					return v, err
				}
			}
			return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
		}),
		guardRange: starlark.NewBuiltin("range", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			v, err := starlark.Call(thread, universalRange, args, kwargs)
			if err != nil {
				return nil, err
			}
			if n := v.(starlark.Sequence).Len(); n > StarlarkMaxValue {
				return nil, fmt.Errorf("range of %d elements is over the limit of %d", n, StarlarkMaxValue)
			}
			return v, nil
		}),
	}
}

// checkRepeat refuses seq * n when the result would pass StarlarkMaxValue.
func checkRepeat(seq, n starlark.Value) error {
	count, ok := n.(starlark.Int)
	if !ok {
		return nil
	}
	c, ok := count.Int64()
	if !ok || c <= 0 {
		return nil // the interpreter reports or handles it
	}
	var size int
	switch s := seq.(type) {
	case starlark.String:
		size = len(s)
	case starlark.Bytes:
		size = len(s)
	case starlark.Sequence:
		size = s.Len()
	default:
		return nil
	}
	hi, total := bits.Mul64(uint64(size), uint64(c))
	if hi != 0 || total > StarlarkMaxValue {
		return fmt.Errorf("%s * %d is over the limit of %d elements", seq.Type(), c, StarlarkMaxValue)
	}
	return nil
}

func guardedStringMethod(s starlark.String, name string) (starlark.Value, error) {
	orig, err := s.Attr(name)
	if err != nil || orig == nil {
		return nil, fmt.Errorf("string has no .%s field or method", name)
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var size uint64
		switch name {
		case "join":
			if len(args) == 1 {
				n := 0
				iter := starlark.Iterate(args[0])
				if iter != nil {
					var x starlark.Value
					for iter.Next(&x) {
						if e, ok := x.(starlark.String); ok {
							size += uint64(len(e))
						}
						n++
					}
					iter.Done()
				}
				if n > 1 {
					size += uint64(len(s)) * uint64(n-1)
				}
			}
		case "replace":
			if len(args) >= 2 {
				old, ok1 := args[0].(starlark.String)
				repl, ok2 := args[1].(starlark.String)
				if ok1 && ok2 {
					occ := uint64(strings.Count(string(s), string(old)))
					if len(args) == 3 {
						if c, ok := args[2].(starlark.Int); ok {
							if lim, ok := c.Int64(); ok && lim >= 0 && uint64(lim) < occ {
								occ = uint64(lim)
							}
						}
					}
					size = uint64(len(s)) - occ*uint64(len(old)) + occ*uint64(len(repl))
				}
			}
		}
		if size > StarlarkMaxValue {
			return nil, fmt.Errorf("%s would make a string of %d bytes, over the limit of %d", name, size, StarlarkMaxValue)
		}
		return starlark.Call(thread, orig, args, kwargs)
	}), nil
}

// Reasons a watchdog cancels a thread.
const (
	cancelTimeout = "timeout"
	cancelMemory  = "memory"
)

// watch cancels thread when it runs past StarlarkTimeout or grows the heap
// past StarlarkMaxMemory; the returned stop ends the watch and reports the
// reason it fired, if it did.
//
// Two figures are watched. The live heap of the last garbage collection is
// the script's real footprint but lags by a cycle; the heap including
// uncollected garbage is current but inflated up to twice the live heap by
// the collector's pacing. Growth beyond the limit in the first, or beyond
// four times it in the second, means a bomb. Forcing a collection to settle
// the question would stall on exactly the huge heaps a bomb makes.
func watch(thread *starlark.Thread) (stop func() string) {
	var reason atomic.Value
	reason.Store("")
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	liveLimit := sample[0].Value.Uint64() + StarlarkMaxMemory
	heapLimit := sample[1].Value.Uint64() + 4*StarlarkMaxMemory
	go func() {
		defer close(stopped)
		deadline := time.NewTimer(StarlarkTimeout)
		defer deadline.Stop()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-deadline.C:
				reason.Store(cancelTimeout)
				thread.Cancel(cancelTimeout)
				return
			case <-tick.C:
				metrics.Read(sample)
				if sample[0].Value.Uint64() > liveLimit || sample[1].Value.Uint64() > heapLimit {
					reason.Store(cancelMemory)
					thread.Cancel(cancelMemory)
					return
				}
			}
		}
	}()
	return func() string {
		close(done)
		<-stopped
		return reason.Load().(string)
	}
}
