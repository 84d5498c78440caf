package config

import (
	"flag"
	"net/url"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/engine/redact"
)

// Redacted replaces a secret wherever one would have been shown.
const Redacted = redact.Redacted

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
	"DAGS_GIT_TOKEN",
	"SLUICE_NOTIFY_SECRET",
	"PGPASSWORD",
}

// EnvStore names the store URL's variable: a postgres:// URL in it may
// carry a password, which Secrets returns too.
const EnvStore = "SLUICE_STORE"

// Secrets returns the values of the set SecretEnv variables, and the
// password of the store URL in SLUICE_STORE, if it has one.
func Secrets(getenv func(string) string) []string {
	var out []string
	for _, name := range SecretEnv {
		if v := getenv(name); v != "" {
			out = append(out, v)
		}
	}
	if u, err := url.Parse(getenv(EnvStore)); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			out = append(out, pw)
		}
	}
	return out
}

// Redactor removes known secret values from text, literal and encoded
// (base64 of anything holding one, as in basic-auth headers; percent-
// encoded). It is the last line of defence: code keeps secrets out of
// messages in the first place (the Kafka and Mode configurations log
// themselves redacted); a Redactor on an output stream catches what a
// library or a bug let through.
type Redactor = redact.Redactor

// NewRedactor redacts each of secrets (shorter than four bytes are left
// alone: they would match everywhere).
func NewRedactor(secrets ...string) *Redactor { return redact.New(secrets...) }

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

// IsSecretFlag reports whether a flag's value is a secret by its name. A
// path to a secret, or the hosts a token may go to, is none.
func IsSecretFlag(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "-file") || strings.HasSuffix(n, "-path") || strings.HasSuffix(n, "-dir") || strings.HasSuffix(n, "-hosts") {
		return false
	}
	for _, w := range []string{"password", "token", "secret"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
