package sqlref

import (
	"strings"
)

// Ref is a relation a query reads.
type Ref struct {
	// Parts are the name's parts, unquoted and lower-cased: [database,
	// schema, name], [schema, name] or [name].
	Parts []string
	// Text is the name as written in the query.
	Text string
	// Offset is the byte offset of Text in the query.
	Offset int
}

// Name is the last part: the table or view name.
func (r Ref) Name() string { return r.Parts[len(r.Parts)-1] }

// String joins the parts with dots.
func (r Ref) String() string { return strings.Join(r.Parts, ".") }

// Extraction is what Extract finds in one query.
type Extraction struct {
	// Refs are the distinct relations read, in order of first appearance.
	// CTE names and Mode definitions are not relations and never appear.
	Refs []Ref
	// Definitions are the Mode definitions the query pulls in with
	// {{ @name as alias }}: queries in their own right, not tables.
	Definitions []string
	// Templated are table positions filled by a template expression
	// ({{ table }}, orders_{{ suffix }}); their relation is unknown.
	Templated []string
}

// frame is one level of parentheses (or a statement at top level).
type frame struct {
	id, parent int
	query      bool // a query body: FROM and JOIN name relations here
	inFrom     bool // inside a FROM clause: commas introduce relations
	expect     bool // the next name is a relation
	sawSelect  bool
	cte        cteState
	ctes       []string // CTE names defined in this frame
}

type cteState uint8

const (
	cteNone      cteState = iota
	cteName               // after WITH or a comma between CTEs
	cteAfterName          // after the name: column list or AS
	cteBody               // after AS: the body's parenthesis comes
	cteAfterBody          // after the body: a comma or the main query
)

// pendingRef is a ref before CTE shadowing is resolved.
type pendingRef struct {
	ref   Ref
	frame int
}

type extractor struct {
	src    string
	toks   []token
	frames []frame // every frame ever opened, by id
	stack  []int   // open frames
	refs   []pendingRef
	out    Extraction
	// branches saves the innermost frame's FROM state at {% if %} so that
	// {% else %} and {% elsif %} branches start from the same place.
	branches []branchState
}

type branchState struct {
	depth          int
	inFrom, expect bool
}

// Extract finds the relations sql reads. It never fails: text it does not
// understand yields no refs rather than an error.
func Extract(sql string) Extraction {
	e := &extractor{src: sql, toks: lex(sql)}
	e.push(true)
	for i := 0; i < len(e.toks); i++ {
		i = e.step(i)
	}
	e.resolve()
	return e.out
}

func (e *extractor) top() *frame { return &e.frames[e.stack[len(e.stack)-1]] }

func (e *extractor) push(query bool) *frame {
	parent := -1
	if len(e.stack) > 0 {
		parent = e.stack[len(e.stack)-1]
	}
	e.frames = append(e.frames, frame{id: len(e.frames), parent: parent, query: query})
	e.stack = append(e.stack, len(e.frames)-1)
	return &e.frames[len(e.frames)-1]
}

// step handles token i and returns the index of the last token it used.
func (e *extractor) step(i int) int {
	t := e.toks[i]
	f := e.top()
	switch t.kind {
	case tPunct:
		switch t.text {
		case "(":
			e.openParen(i)
		case ")":
			if len(e.stack) > 1 {
				e.stack = e.stack[:len(e.stack)-1]
			}
		case ",":
			if f.cte == cteAfterBody {
				f.cte = cteName
			} else if f.query && f.inFrom {
				f.expect = true
			}
		case ";":
			// A new statement: new CTE scope, fresh state.
			e.stack = e.stack[:0]
			e.push(true)
		}
		return i
	case tTmplTag:
		e.templateTag(t)
		return i
	case tTmplExpr:
		if f.expect {
			f.expect = false
			if def, ok := definition(t.text); ok {
				e.out.Definitions = appendUnique(e.out.Definitions, def)
				return i
			}
			return e.templatedName(i, i)
		}
		return i
	case tWord, tQuoted:
		if !f.query {
			return i
		}
		if f.cte != cteNone && f.cte != cteAfterBody {
			return e.cteWord(i)
		}
		if t.kind == tWord {
			if kw, ok := keyword(t.text); ok && (!f.expect || kw == kwSkip) {
				return e.keyword(i, kw)
			}
		}
		// In table position any word is a name: no clause keyword can
		// follow FROM, and tables are called "sample" or "window" too.
		if f.expect {
			return e.relation(i)
		}
		return i
	default:
		// A string, number or operator in table position ('file.csv',
		// say) is not a relation; whatever follows is its alias.
		f.expect = false
	}
	return i
}

// openParen decides what a parenthesis holds: a query (SELECT, WITH,
// VALUES, or anything in table position: a subquery or a parenthesised
// join) or an expression, where FROM is part of a function's syntax
// (EXTRACT(YEAR FROM col), SUBSTRING(s FROM 2)) and never a relation.
func (e *extractor) openParen(i int) {
	f := e.top()
	inTablePos := f.query && f.expect
	cteBodyPos := f.query && f.cte == cteBody
	nextQuery := false
	if j := e.next(i); j >= 0 && e.toks[j].kind == tWord {
		switch strings.ToLower(e.toks[j].text) {
		case "select", "with", "values":
			nextQuery = true
		}
	}
	if f.query {
		f.expect = false
		if cteBodyPos {
			f.cte = cteAfterBody
		}
	}
	nf := e.push(nextQuery || inTablePos || cteBodyPos)
	if inTablePos && !nextQuery {
		// A parenthesised join: the first name is a relation.
		nf.inFrom, nf.expect = true, true
	}
}

// next returns the index of the token after i, or -1.
func (e *extractor) next(i int) int {
	if i+1 < len(e.toks) {
		return i + 1
	}
	return -1
}

func (e *extractor) isPunct(i int, p string) bool {
	return i >= 0 && i < len(e.toks) && e.toks[i].kind == tPunct && e.toks[i].text == p
}

type kw uint8

const (
	kwNone kw = iota
	kwFrom
	kwJoin
	kwApply
	kwWith
	kwSelect
	kwEndFrom // a clause that ends the FROM list
	kwOn      // ON / USING in a join: the relation is done
	kwUsing
	kwSkip // LATERAL, ONLY, OUTER...: noise before a relation
	kwRecursive
	kwAs
	kwMaterialized
	kwNot
)

var keywords = map[string]kw{
	"from": kwFrom, "join": kwJoin, "straight_join": kwJoin, "apply": kwApply,
	"with": kwWith, "select": kwSelect,
	"where": kwEndFrom, "group": kwEndFrom, "having": kwEndFrom, "order": kwEndFrom,
	"limit": kwEndFrom, "qualify": kwEndFrom, "window": kwEndFrom, "union": kwEndFrom,
	"intersect": kwEndFrom, "except": kwEndFrom, "minus": kwEndFrom, "offset": kwEndFrom,
	"fetch": kwEndFrom, "set": kwEndFrom, "returning": kwEndFrom, "into": kwEndFrom,
	"connect": kwEndFrom, "start": kwEndFrom, "sample": kwEndFrom, "tablesample": kwEndFrom,
	"on": kwOn, "using": kwUsing,
	"lateral": kwSkip, "only": kwSkip,
	"recursive": kwRecursive, "as": kwAs, "materialized": kwMaterialized, "not": kwNot,
}

func keyword(word string) (kw, bool) {
	if len(word) > len("straight_join") {
		return kwNone, false
	}
	var buf [16]byte
	lower := buf[:len(word)]
	for i := 0; i < len(word); i++ {
		c := word[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	k, ok := keywords[string(lower)]
	return k, ok
}

func (e *extractor) keyword(i int, k kw) int {
	f := e.top()
	switch k {
	case kwFrom:
		if e.distinctFrom(i) {
			return i
		}
		f.inFrom, f.expect = true, true
	case kwJoin, kwApply:
		f.inFrom, f.expect = true, true
	case kwWith:
		if !f.sawSelect && !f.inFrom {
			f.cte = cteName
		}
	case kwSelect:
		f.sawSelect, f.inFrom, f.expect, f.cte = true, false, false, cteNone
	case kwEndFrom:
		f.inFrom, f.expect = false, false
	case kwOn:
		f.expect = false
	case kwUsing:
		// JOIN ... USING (cols) lists columns; MERGE ... USING names a
		// relation.
		f.expect = !f.inFrom
		if !f.inFrom {
			f.inFrom = true
		}
	}
	return i
}

// distinctFrom reports whether the FROM at i belongs to IS [NOT] DISTINCT FROM.
func (e *extractor) distinctFrom(i int) bool {
	j := i - 1
	if j < 0 || e.toks[j].kind != tWord || !strings.EqualFold(e.toks[j].text, "distinct") {
		return false
	}
	j--
	if j >= 0 && e.toks[j].kind == tWord && strings.EqualFold(e.toks[j].text, "not") {
		j--
	}
	return j >= 0 && e.toks[j].kind == tWord && strings.EqualFold(e.toks[j].text, "is")
}

// cteWord advances the WITH name AS (body), ... state machine.
func (e *extractor) cteWord(i int) int {
	f := e.top()
	t := e.toks[i]
	k, isKW := kwNone, false
	if t.kind == tWord {
		k, isKW = keyword(t.text)
	}
	switch f.cte {
	case cteName:
		if isKW && k == kwRecursive {
			return i
		}
		f.ctes = append(f.ctes, identText(t))
		f.cte = cteAfterName
	case cteAfterName:
		if isKW && k == kwAs {
			f.cte = cteBody
			return i
		}
		// Not a CTE after all (WITH TIME ZONE, say): back to normal.
		f.cte = cteNone
		return e.step(i)
	case cteBody:
		if isKW && (k == kwMaterialized || k == kwNot) {
			return i
		}
		f.cte = cteNone
		return e.step(i)
	}
	return i
}

// relation reads a possibly qualified name in table position starting at i.
func (e *extractor) relation(i int) int {
	f := e.top()
	f.expect = false
	var parts []string
	j := i
	for {
		t := e.toks[j]
		if t.kind == tQuoted && t.quote == '`' && strings.Contains(t.text, ".") {
			// BigQuery writes a whole path in one pair of backticks.
			for _, p := range strings.Split(t.text, ".") {
				parts = append(parts, strings.ToLower(p))
			}
		} else {
			part := identText(t)
			// BigQuery lets project ids with dashes go unquoted:
			// my-project.dataset.table.
			for t.kind == tWord && e.glued(j, tOther, "-") && (e.glued(j+1, tWord, "") || e.glued(j+1, tNumber, "")) {
				j += 2
				part = strings.ToLower(e.src[t.start:e.toks[j].end])
			}
			parts = append(parts, part)
		}
		if e.adjacentTemplate(j) {
			return e.templatedName(i, j+1)
		}
		if !e.isPunct(j+1, ".") || j+2 >= len(e.toks) {
			break
		}
		nt := e.toks[j+2]
		if nt.kind == tTmplExpr {
			return e.templatedName(i, j+2)
		}
		if nt.kind != tWord && nt.kind != tQuoted {
			break // schema.* or a stray dot
		}
		j += 2
	}
	if e.isPunct(j+1, "(") {
		// A table function (generate_series(...), FLATTEN(...)): no relation.
		return j
	}
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	start, end := e.toks[i].start, e.toks[j].end
	e.refs = append(e.refs, pendingRef{ref: Ref{Parts: parts, Text: e.src[start:end], Offset: start}, frame: f.id})
	return j
}

// glued reports whether token j+1 has the kind (and text, when given) and
// touches token j.
func (e *extractor) glued(j int, kind tokenKind, text string) bool {
	if j+1 >= len(e.toks) {
		return false
	}
	nt := e.toks[j+1]
	return nt.kind == kind && (text == "" || nt.text == text) && nt.start == e.toks[j].end
}

// adjacentTemplate reports whether a template expression is glued to token
// j (orders_{{ suffix }}), making the name unknowable.
func (e *extractor) adjacentTemplate(j int) bool {
	return j+1 < len(e.toks) && e.toks[j+1].kind == tTmplExpr && e.toks[j+1].start == e.toks[j].end
}

// templatedName records a table position filled by a template expression
// and skips the rest of the name. from..upto are token indexes.
func (e *extractor) templatedName(from, upto int) int {
	j := upto
	for j+1 < len(e.toks) {
		nt := e.toks[j+1]
		glued := nt.start == e.toks[j].end
		if nt.kind == tPunct && nt.text == "." || glued && (nt.kind == tWord || nt.kind == tQuoted || nt.kind == tTmplExpr) ||
			e.isPunct(j, ".") && (nt.kind == tWord || nt.kind == tQuoted || nt.kind == tTmplExpr) {
			j++
			continue
		}
		break
	}
	e.out.Templated = append(e.out.Templated, e.src[e.toks[from].start:e.toks[j].end])
	return j
}

// templateTag keeps both branches of {% if %} ... {% else %} ... {% endif %}
// meaningful: each branch starts from the FROM state the if saw.
func (e *extractor) templateTag(t token) {
	f := e.top()
	switch strings.ToLower(firstWord(t.text)) {
	case "if", "unless", "case", "for":
		e.branches = append(e.branches, branchState{depth: len(e.stack), inFrom: f.inFrom, expect: f.expect})
	case "else", "elsif", "when":
		if n := len(e.branches); n > 0 && e.branches[n-1].depth == len(e.stack) {
			f.inFrom, f.expect = e.branches[n-1].inFrom, e.branches[n-1].expect
		}
	case "endif", "endunless", "endcase", "endfor":
		if n := len(e.branches); n > 0 {
			e.branches = e.branches[:n-1]
		}
	}
}

// definition parses Mode's "@name as alias" (or "@name").
func definition(expr string) (string, bool) {
	if !strings.HasPrefix(expr, "@") {
		return "", false
	}
	name := firstWord(expr[1:])
	return name, name != ""
}

// identText returns a word or quoted identifier lower-cased: warehouses
// fold unquoted names, and dbt's relation names quote them, so comparing
// without case is what matches in practice.
func identText(t token) string { return strings.ToLower(t.text) }

// resolve drops unqualified refs that name a CTE visible from their frame
// and removes duplicates.
func (e *extractor) resolve() {
	seen := make(map[string]bool, len(e.refs))
	for _, p := range e.refs {
		if len(p.ref.Parts) == 1 && e.shadowed(p.ref.Parts[0], p.frame) {
			continue
		}
		key := strings.Join(p.ref.Parts, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		e.out.Refs = append(e.out.Refs, p.ref)
	}
}

func (e *extractor) shadowed(name string, frame int) bool {
	for id := frame; id >= 0; id = e.frames[id].parent {
		for _, c := range e.frames[id].ctes {
			if c == name {
				return true
			}
		}
	}
	return false
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
