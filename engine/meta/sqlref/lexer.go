// Package sqlref finds the relations a SQL query reads, as BI tools store
// queries: any dialect, with comments, quoted identifiers and Mode's Liquid
// templating. A lexer turns the text into tokens (dropping comments, string
// literals and template blocks that are not SQL) and a small state machine
// over parenthesis frames picks the names in FROM and JOIN position. It is
// not a SQL parser: it never rejects a query, it only looks for relations.
package sqlref

import "strings"

type tokenKind uint8

const (
	tWord     tokenKind = iota + 1 // unquoted identifier or keyword
	tQuoted                        // "x", `x` or [x]; text is the unquoted name
	tString                        // '...' or $$...$$ (content dropped)
	tNumber                        // 42, 1.5e3
	tPunct                         // ( ) , . ;
	tOther                         // any other operator character
	tTmplExpr                      // {{ ... }}; text is the trimmed content
	tTmplTag                       // {% ... %}; text is the trimmed content
)

// token is one lexeme. text is a slice of the source for words and template
// content; quoted identifiers with doubled quotes are unescaped (a copy).
type token struct {
	kind  tokenKind
	text  string
	start int // byte offset in the source
	end   int
	quote byte // the opening quote of a tQuoted token
}

// lex splits src into tokens. Comments, {# #} comments and the bodies of
// {% form %}, {% comment %} and {% raw %} blocks produce no tokens.
func lex(src string) []token {
	toks := make([]token, 0, len(src)/5)
	i, n := 0, len(src)
	for i < n {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && src[i+1] == '-':
			i = lineEnd(src, i)
		case c == '/' && i+1 < n && src[i+1] == '*':
			if j := strings.Index(src[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = n
			}
		case c == '{' && i+1 < n && (src[i+1] == '{' || src[i+1] == '%' || src[i+1] == '#'):
			i = lexTemplate(src, i, &toks)
		case isIdentStart(c):
			j := i + 1
			for j < n && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, text: src[i:j], start: i, end: j})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < n && (isIdentPart(src[j]) || src[j] == '.') {
				j++
			}
			toks = append(toks, token{kind: tNumber, start: i, end: j})
			i = j
		case c == '"' || c == '`':
			i = lexQuoted(src, i, c, c, &toks)
		case c == '[':
			i = lexQuoted(src, i, '[', ']', &toks)
		case c == '\'':
			j := stringEnd(src, i)
			toks = append(toks, token{kind: tString, start: i, end: j})
			i = j
		case c == '$':
			if j, ok := dollarString(src, i); ok {
				toks = append(toks, token{kind: tString, start: i, end: j})
				i = j
				break
			}
			toks = append(toks, token{kind: tOther, text: src[i : i+1], start: i, end: i + 1})
			i++
		case c == '(' || c == ')' || c == ',' || c == '.' || c == ';':
			toks = append(toks, token{kind: tPunct, text: src[i : i+1], start: i, end: i + 1})
			i++
		default:
			toks = append(toks, token{kind: tOther, text: src[i : i+1], start: i, end: i + 1})
			i++
		}
	}
	return toks
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func lineEnd(src string, i int) int {
	if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(src)
}

// lexQuoted reads a quoted identifier; a doubled closing quote escapes it.
func lexQuoted(src string, i int, open, close byte, toks *[]token) int {
	var b strings.Builder
	escaped := false
	j := i + 1
	for j < len(src) {
		if src[j] == close {
			if close != ']' && j+1 < len(src) && src[j+1] == close {
				escaped = true
				b.WriteByte(close)
				j += 2
				continue
			}
			break
		}
		b.WriteByte(src[j])
		j++
	}
	text := src[min(i+1, len(src)):j]
	if escaped {
		text = b.String()
	}
	end := min(j+1, len(src))
	*toks = append(*toks, token{kind: tQuoted, text: text, start: i, end: end, quote: open})
	return end
}

// stringEnd returns the end of the string literal starting at i. A
// backslash escapes the next character (MySQL, BigQuery, Snowflake,
// Redshift); when that reading never closes the string, the literal is read
// again with backslashes as plain characters (standard SQL, Postgres), so a
// 'C:\' path does not swallow the rest of the query.
func stringEnd(src string, i int) int {
	if j, ok := scanString(src, i, true); ok {
		return j
	}
	j, _ := scanString(src, i, false)
	return j
}

func scanString(src string, i int, backslash bool) (int, bool) {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if backslash {
				j++
			}
		case '\'':
			if j+1 < len(src) && src[j+1] == '\'' {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return len(src), false
}

// dollarString reads a Postgres/Snowflake $tag$...$tag$ literal.
func dollarString(src string, i int) (int, bool) {
	j := i + 1
	for j < len(src) && (isIdentStart(src[j]) || src[j] >= '0' && src[j] <= '9' && j > i+1) {
		j++
	}
	if j >= len(src) || src[j] != '$' {
		return 0, false
	}
	tag := src[i : j+1]
	if k := strings.Index(src[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag), true
	}
	return len(src), true
}

// lexTemplate reads one Liquid construct starting at src[i] == '{'. Blocks
// whose body is not SQL ({% form %}, {% comment %}, {% raw %}) are skipped
// up to their end tag.
func lexTemplate(src string, i int, toks *[]token) int {
	closer := "}}"
	switch src[i+1] {
	case '%':
		closer = "%}"
	case '#':
		closer = "#}"
	}
	j := strings.Index(src[i+2:], closer)
	end := len(src)
	if j >= 0 {
		end = i + 2 + j + 2
	}
	content := strings.TrimSpace(strings.Trim(src[i+2:max(i+2, end-2)], "-"))
	switch src[i+1] {
	case '{':
		*toks = append(*toks, token{kind: tTmplExpr, text: content, start: i, end: end})
	case '%':
		name := firstWord(content)
		if body := blockEnd(name); body != "" {
			return skipBlock(src, end, body)
		}
		*toks = append(*toks, token{kind: tTmplTag, text: content, start: i, end: end})
	}
	return end
}

// blockEnd names the end tag of a block whose body is not SQL.
func blockEnd(tag string) string {
	switch strings.ToLower(tag) {
	case "form":
		return "endform"
	case "comment":
		return "endcomment"
	case "raw":
		return "endraw"
	}
	return ""
}

// skipBlock returns the offset after the {% end %} tag following i.
func skipBlock(src string, i int, end string) int {
	for i < len(src) {
		k := strings.Index(src[i:], "{%")
		if k < 0 {
			return len(src)
		}
		start := i + k
		c := strings.Index(src[start+2:], "%}")
		if c < 0 {
			return len(src)
		}
		after := start + 2 + c + 2
		content := strings.TrimSpace(strings.Trim(src[start+2:after-2], "-"))
		if strings.EqualFold(firstWord(content), end) {
			return after
		}
		i = after
	}
	return len(src)
}

func firstWord(s string) string {
	for i := 0; i < len(s); i++ {
		if !isIdentPart(s[i]) {
			return s[:i]
		}
	}
	return s
}
