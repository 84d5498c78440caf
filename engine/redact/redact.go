// Package redact removes known secret values from text: literally, and in
// the encoded forms servers echo back — base64 (standard and URL alphabet,
// padded or not) of anything containing the secret, such as a basic-auth
// header ("x-access-token:TOKEN", "TOKEN:SECRET", "user:PASSWORD"), and
// percent-encoding.
//
// It is a leaf package so both the engine (review history is redacted
// before it is stored) and the front ends (every string a console shows)
// use one implementation.
package redact

import (
	"encoding/base64"
	"io"
	"net/url"
	"sort"
	"strings"
)

// Redacted replaces a secret wherever one would have been shown.
const Redacted = "[redacted]"

// MinSecretLen keeps a Redactor from replacing every "a" of the output when
// someone sets a one-letter test password.
const MinSecretLen = 4

// minFragmentLen is the shortest base64 fragment searched for: shorter ones
// (secrets under about six bytes) would match ordinary base64 text by
// chance, so such secrets are only redacted literally.
const minFragmentLen = 8

// Redactor removes known secret values from text. The zero value and nil
// redact nothing.
type Redactor struct {
	literal *strings.Replacer
	// needles are every literal and percent-encoded secret, longest first.
	needles []string
	// fragments are base64 runs that appear in the encoding of any text
	// containing a secret, whatever its offset (one per alignment and
	// alphabet).
	fragments []string
}

// New redacts each of secrets (shorter than MinSecretLen are left alone).
func New(secrets ...string) *Redactor {
	uniq := map[string]bool{}
	frags := map[string]bool{}
	for _, s := range secrets {
		if len(s) < MinSecretLen {
			continue
		}
		uniq[s] = true
		if q := url.QueryEscape(s); q != s {
			uniq[q] = true
		}
		if p := url.PathEscape(s); p != s {
			uniq[p] = true
		}
		for _, f := range base64Fragments(s) {
			frags[f] = true
		}
	}
	if len(uniq) == 0 {
		return &Redactor{}
	}
	r := &Redactor{needles: longestFirst(uniq), fragments: longestFirst(frags)}
	pairs := make([]string, 0, 2*len(r.needles))
	for _, s := range r.needles {
		pairs = append(pairs, s, Redacted)
	}
	r.literal = strings.NewReplacer(pairs...)
	return r
}

func longestFirst(set map[string]bool) []string {
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool {
		return len(list[i]) > len(list[j]) || len(list[i]) == len(list[j]) && list[i] < list[j]
	})
	return list
}

// base64Fragments returns, for each of the three byte alignments a secret
// can have inside a longer text and for both alphabets, the run of base64
// characters that depends on the secret's bytes alone. Any base64 encoding
// of a text containing the secret contains one of them.
func base64Fragments(s string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for k := range 3 {
			b := make([]byte, k, k+len(s))
			b = append(b, s...)
			full := enc.EncodeToString(b)
			start := 0
			if k > 0 {
				start = 4 // the first group mixes in the unknown preceding bytes
			}
			end := 4 * (len(b) / 3) // a partial last group mixes in what follows
			if end-start >= minFragmentLen {
				out = append(out, full[start:end])
			}
		}
	}
	return out
}

// Empty reports whether r redacts nothing.
func (r *Redactor) Empty() bool { return r == nil || r.literal == nil }

// String returns s with every secret replaced, and s itself (no copy) when
// it holds none — the common case, which a console pays for on every string
// of every snapshot. A base64 run holding a secret is replaced whole.
func (r *Redactor) String(s string) string {
	if r.Empty() {
		return s
	}
	for _, n := range r.needles {
		if strings.Contains(s, n) {
			s = r.literal.Replace(s)
			break
		}
	}
	for _, f := range r.fragments {
		for {
			i := strings.Index(s, f)
			if i < 0 {
				break
			}
			start, end := i, i+len(f)
			for start > 0 && isBase64Char(s[start-1]) {
				start--
			}
			for end < len(s) && isBase64Char(s[end]) {
				end++
			}
			for end < len(s) && s[end] == '=' {
				end++
			}
			s = s[:start] + Redacted + s[end:]
		}
	}
	return s
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_'
}

// Writer wraps w so every Write is redacted. Redaction is per Write: a log
// handler writes a record at a time, so a secret is never split.
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r.Empty() {
		return w
	}
	return redactingWriter{r: r, w: w}
}

type redactingWriter struct {
	r *Redactor
	w io.Writer
}

func (rw redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(rw.w, rw.r.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
