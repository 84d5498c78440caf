package config

import (
	"flag"
	"io"
	"sort"
	"strings"
)

// Redacted replaces a secret wherever one would have been shown.
const Redacted = "[redacted]"

// SecretEnv lists the environment variables that hold secrets. They are
// never flags and never file settings; `config check` says only whether
// each is set.
var SecretEnv = []string{
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"SLUICE_KAFKA_SASL_PASSWORD",
	"MODE_TOKEN",
	"MODE_SECRET",
	"GITHUB_TOKEN",
}

// minSecretLen keeps Redactor from replacing every "a" of the output when
// someone sets a one-letter test password.
const minSecretLen = 4

// Secrets returns the values of the set SecretEnv variables.
func Secrets(getenv func(string) string) []string {
	var out []string
	for _, name := range SecretEnv {
		if v := getenv(name); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Redactor removes known secret values from text. It is the last line of
// defence: code keeps secrets out of messages in the first place (the
// Kafka and Mode configurations log themselves redacted); a Redactor on
// an output stream catches what a library or a bug let through.
type Redactor struct {
	r       *strings.Replacer
	secrets []string
}

// NewRedactor redacts each of secrets (shorter than four bytes are left
// alone: they would match everywhere).
func NewRedactor(secrets ...string) *Redactor {
	uniq := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			uniq[s] = true
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	list := make([]string, 0, len(uniq))
	for s := range uniq {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool {
		return len(list[i]) > len(list[j]) || len(list[i]) == len(list[j]) && list[i] < list[j]
	})
	if len(list) == 0 {
		return &Redactor{}
	}
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, Redacted)
	}
	return &Redactor{r: strings.NewReplacer(pairs...), secrets: list}
}

// String returns s with every secret replaced, and s itself (no copy)
// when it holds none — the common case, which a console pays for on every
// string of every snapshot.
func (r *Redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	for _, secret := range r.secrets {
		if strings.Contains(s, secret) {
			return r.r.Replace(s)
		}
	}
	return s
}

// Writer wraps w so every Write is redacted. Redaction is per Write: a log
// handler writes a record at a time, so a secret is never split.
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r == nil || r.r == nil {
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

// Setting is one flag's effective value, for `config check`.
type Setting struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source Source `json:"-"`
	From   string `json:"source"`
	Secret bool   `json:"secret,omitempty"`
}

// Effective lists every flag of fs with its value and where it came from,
// sorted by name. Flags that hold a secret themselves (by name: password,
// token, secret — not a *-file path to one) show Redacted.
func Effective(fs *flag.FlagSet, src Sources) []Setting {
	var out []Setting
	fs.VisitAll(func(fl *flag.Flag) {
		s := Setting{Name: fl.Name, Value: fl.Value.String(), Source: src[fl.Name]}
		if s.Source.Kind == "" {
			s.Source = Source{Kind: "default"}
		}
		s.From = s.Source.String()
		if IsSecretFlag(fl.Name) {
			s.Secret = true
			if s.Value != "" {
				s.Value = Redacted
			}
		}
		out = append(out, s)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IsSecretFlag reports whether a flag's value is a secret by its name.
func IsSecretFlag(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "-file") || strings.HasSuffix(n, "-path") || strings.HasSuffix(n, "-dir") {
		return false
	}
	for _, w := range []string{"password", "token", "secret"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
