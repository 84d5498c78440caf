package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode"

	"github.com/sluice-dev/sluice/engine/api"
)

// LogRing keeps the newest log records for the console's logs pane.
type LogRing struct {
	mu       sync.Mutex
	buf      []api.LogRecord
	next     int
	full     bool
	onAppend func()
}

// NewLogRing holds up to size records (default 1000 when size <= 0).
func NewLogRing(size int) *LogRing {
	if size <= 0 {
		size = 1000
	}
	return &LogRing{buf: make([]api.LogRecord, size)}
}

func (r *LogRing) add(rec api.LogRecord) {
	r.mu.Lock()
	r.buf[r.next] = rec
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
	notify := r.onAppend
	r.mu.Unlock()
	if notify != nil {
		notify()
	}
}

// Records returns the kept records, oldest first.
func (r *LogRing) Records() []api.LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]api.LogRecord(nil), r.buf[:r.next]...)
	}
	out := make([]api.LogRecord, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// NewTeeHandler returns a handler that passes every record to next and
// keeps those at level or above in ring. Attribute values whose key looks
// secret (password, secret, token, key, credentials…) are redacted for
// both.
func NewTeeHandler(next slog.Handler, ring *LogRing, level slog.Leveler) slog.Handler {
	if next == nil {
		next = slog.DiscardHandler
	}
	if level == nil {
		level = slog.LevelInfo
	}
	return &teeHandler{next: next, ring: ring, level: level}
}

type teeHandler struct {
	next   slog.Handler
	ring   *LogRing
	level  slog.Leveler
	prefix string // group path for the ring: "g1.g2."
	attrs  string // pre-formatted attrs from WithAttrs
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level.Level() || h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, rec slog.Record) error {
	clean := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	var b strings.Builder
	b.WriteString(h.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		a = redact(a)
		clean.AddAttrs(a)
		formatAttr(&b, h.prefix, a)
		return true
	})
	var err error
	if h.next.Enabled(ctx, rec.Level) {
		err = h.next.Handle(ctx, clean)
	}
	if rec.Level >= h.level.Level() {
		h.ring.add(api.LogRecord{Time: rec.Time, Level: rec.Level, Msg: rec.Message, Attrs: strings.TrimSpace(b.String())})
	}
	return err
}

func (h *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	var b strings.Builder
	b.WriteString(h.attrs)
	for i, a := range attrs {
		clean[i] = redact(a)
		formatAttr(&b, h.prefix, clean[i])
	}
	return &teeHandler{next: h.next.WithAttrs(clean), ring: h.ring, level: h.level, prefix: h.prefix, attrs: b.String()}
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &teeHandler{next: h.next.WithGroup(name), ring: h.ring, level: h.level, prefix: h.prefix + name + ".", attrs: h.attrs}
}

func formatAttr(b *strings.Builder, prefix string, a slog.Attr) {
	if a.Equal(slog.Attr{}) {
		return
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			formatAttr(b, p, g)
		}
		return
	}
	s := v.String()
	if strings.ContainsAny(s, " \t\n\"=") || s == "" {
		s = fmt.Sprintf("%q", s)
	}
	b.WriteString(" ")
	b.WriteString(prefix + a.Key)
	b.WriteString("=")
	b.WriteString(s)
}

// Redacted replaces the value of an attribute whose key looks secret.
const Redacted = "[REDACTED]"

func redact(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = redact(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	if looksSecret(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var secretWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "secret": true, "secrets": true, "token": true, "tokens": true,
	"key": true, "apikey": true, "credential": true, "credentials": true, "passphrase": true,
}

// looksSecret reports whether an attribute key names a secret: one of its
// words (split at punctuation and camelCase) is a secret word, or it
// contains password, secret or token outright ("dbpassword").
func looksSecret(key string) bool {
	lower := strings.ToLower(key)
	for _, s := range []string{"password", "secret", "token"} {
		if strings.Contains(lower, s) {
			return true
		}
	}
	var word []rune
	prevLower := false
	check := func() bool {
		w := strings.ToLower(string(word))
		word = word[:0]
		return secretWords[w]
	}
	for _, r := range key {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			if check() {
				return true
			}
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			if check() {
				return true
			}
		}
		word = append(word, r)
		prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
	}
	return check()
}
