package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/config"
)

// cmdFlags mimics a command's flags the way this repository builds them:
// environment values as defaults, "(env NAME)" in the usage.
type cmdFlags struct {
	stateDir string
	brokers  []string
	interval time.Duration
	tls      bool
	ssh      string
	workers  int
}

func newFlags(name string, getenv func(string) string, withSSH bool) (*flag.FlagSet, *cmdFlags) {
	c := &cmdFlags{stateDir: "/default/state", interval: 30 * time.Second}
	if v := getenv("SLUICE_STATE_DIR"); v != "" {
		c.stateDir = v
	}
	if v := getenv("SLUICE_KAFKA_BROKERS"); v != "" {
		c.brokers = strings.Split(v, ",")
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.stateDir, "state-dir", c.stateDir, "state directory (env SLUICE_STATE_DIR)")
	fs.Func("brokers", "Kafka brokers (env SLUICE_KAFKA_BROKERS)", func(s string) error {
		c.brokers = strings.Split(s, ",")
		return nil
	})
	fs.DurationVar(&c.interval, "scan-interval", c.interval, "rescan every (env DAGS_SCAN_INTERVAL)")
	fs.BoolVar(&c.tls, "tls", c.tls, "use TLS")
	fs.IntVar(&c.workers, "workers", 4, "workers")
	if withSSH {
		fs.StringVar(&c.ssh, "ssh", "", "listen for SSH")
	}
	return fs, c
}

func schema() config.Schema {
	none := func(string) string { return "" }
	run, _ := newFlags("run", none, false)
	serve, _ := newFlags("serve", none, true)
	return config.Schema{"run": run, "serve": serve}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseValues(t *testing.T) {
	t.Parallel()
	f, err := config.Parse("sluice.yaml", []byte(`
# comment
state_dir: /var/lib/sluice
brokers: [k1:9092, "k2:9092"]
scan-interval: 1m
tls: true
workers: 8
empty:
serve:
  ssh: ":2222"
  tls: false
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"state-dir": "/var/lib/sluice", "brokers": "k1:9092,k2:9092", "scan-interval": "1m", "tls": "true", "workers": "8", "empty": ""}
	for k, v := range want {
		if got, ok := f.Global[k]; !ok || got.Text != v {
			t.Errorf("%s = %q (present %v), want %q", k, got.Text, ok, v)
		}
	}
	if f.Global["state-dir"].Line != 3 || f.Global["state-dir"].Key != "state_dir" {
		t.Errorf("state-dir recorded as %+v", f.Global["state-dir"])
	}
	if f.Sections["serve"]["ssh"].Text != ":2222" || f.Sections["serve"]["tls"].Text != "false" {
		t.Errorf("serve section = %+v", f.Sections["serve"])
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       string // substring of the error
		line       int
	}{
		{"not a mapping", "- a\n- b\n", "top level must be a mapping", 1},
		{"syntax", "state-dir: [unclosed\n", "sluice.yaml", 0},
		{"duplicate", "tls: true\nworkers: 1\ntls: false\n", `"tls": set twice (first on line 1)`, 3},
		{"duplicate in section", "serve:\n  ssh: a\n  ssh: b\n", `"ssh": set twice`, 3},
		{"nested mapping in section", "serve:\n  ssh:\n    addr: x\n", "not a mapping", 2},
		{"list of mappings", "brokers:\n  - host: a\n", "only plain values", 2},
		{"two documents", "tls: true\n---\ntls: false\n", "more than one YAML document", 0},
		{"complex key", "? [a, b]\n: c\n", "plain name", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse("sluice.yaml", []byte(tt.data))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sluice.yaml") {
				t.Fatalf("error %q does not name the file or contain %q", err, tt.want)
			}
			if tt.line > 0 {
				var e *config.Error
				if !errors.As(err, &e) || e.Line != tt.line {
					t.Fatalf("error %q: line %d, want %d", err, lineOf(err), tt.line)
				}
			}
		})
	}
}

func lineOf(err error) int {
	var e *config.Error
	if errors.As(err, &e) {
		return e.Line
	}
	return -1
}

func TestEmptyFiles(t *testing.T) {
	t.Parallel()
	for _, data := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		f, err := config.Parse("x.yaml", []byte(data))
		if err != nil {
			t.Errorf("%q: %v", data, err)
			continue
		}
		if len(f.Global) != 0 || len(f.Sections) != 0 {
			t.Errorf("%q: settings %+v", data, f)
		}
		if err := f.Check(schema()); err != nil {
			t.Errorf("%q: check: %v", data, err)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		want       []string // each a substring of the error; none: valid
	}{
		{"valid", "state-dir: /s\nssh: :22\nrun:\n  workers: 2\nserve:\n  ssh: :2222\n", nil},
		{"top-level key of one command only", "ssh: :22\n", nil},
		{"unknown top-level key", "state-dri: /s\n", []string{`cfg.yaml:1: "state-dri": is not one of any command's flags`}},
		{"key of another command in a section", "run:\n  ssh: :22\n", []string{`cfg.yaml:2: "ssh": is not one of ` + "`sluice run`'s flags"}},
		{"unknown section", "deploy:\n  ssh: :22\n", []string{`cfg.yaml:1: "deploy": is neither a setting nor a command section (sections: run, serve)`}},
		{"bad value", "workers: many\n", []string{`cfg.yaml:1: "workers": not a valid value for --workers`}},
		{"bad duration in section", "serve:\n  scan-interval: soon\n", []string{`cfg.yaml:2: "scan-interval": not a valid value`}},
		{"bad bool", "tls: maybe\n", []string{`not a valid value for --tls`}},
		{"every problem, in line order", "tls: maybe\nbogus: 1\nrun:\n  nope: 2\n", []string{"cfg.yaml:1:", "cfg.yaml:2:", "cfg.yaml:4:"}},
		{"secret-looking key", "github-token: ghp_SECRETVALUE123\n", []string{`"github-token": is not a setting: secrets are never read from the config file`}},
		{"secret-looking key in a section", "serve:\n  sasl_password: hunter2hunter2\n", []string{"secrets are never read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := config.Parse("cfg.yaml", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			err = f.Check(schema())
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, config.ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			last := -1
			for _, w := range tt.want {
				i := strings.Index(err.Error(), w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", err, w)
				}
				if i < last {
					t.Errorf("error %q: %q out of order", err, w)
				}
				last = i
			}
			for _, secret := range []string{"ghp_SECRETVALUE123", "hunter2hunter2", "many", "soon", "maybe"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes the value %q: %v", secret, err)
				}
			}
		})
	}
}

func TestApplyPrecedence(t *testing.T) {
	t.Parallel()
	f, err := config.Parse("/etc/sluice.yaml", []byte(`
state-dir: /from/file
brokers: [file1:9092, file2:9092]
scan-interval: 5m
workers: 9
tls: true
serve:
  workers: 3
  ssh: ":2222"
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(schema()); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"SLUICE_KAFKA_BROKERS": "envbroker:9092", "DAGS_SCAN_INTERVAL": "45s"})
	fs, c := newFlags("serve", getenv, true)
	if err := fs.Parse([]string{"--state-dir", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	src, err := config.Resolver{File: f, Getenv: getenv}.Apply("serve", fs)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, got, want string
		src             config.Source
	}{
		{"state-dir", c.stateDir, "/from/flag", config.Source{Kind: "flag"}},
		{"brokers", strings.Join(c.brokers, ","), "envbroker:9092", config.Source{Kind: "env", Detail: "SLUICE_KAFKA_BROKERS"}},
		// The environment wins even where the command's own code did not
		// read it (the flag default here was not taken from the env).
		{"scan-interval", c.interval.String(), "30s", config.Source{Kind: "env", Detail: "DAGS_SCAN_INTERVAL"}},
		{"workers", strconv.Itoa(c.workers), "3", config.Source{Kind: "file", Detail: "/etc/sluice.yaml:8"}},
		{"tls", strconv.FormatBool(c.tls), "true", config.Source{Kind: "file", Detail: "/etc/sluice.yaml:6"}},
		{"ssh", c.ssh, ":2222", config.Source{Kind: "file", Detail: "/etc/sluice.yaml:9"}},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
		if src[ch.name] != ch.src {
			t.Errorf("%s source = %v, want %v", ch.name, src[ch.name], ch.src)
		}
	}

	// Another command reads the top level, not serve's section.
	fs, c = newFlags("run", env(nil), false)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	src, err = config.Resolver{File: f}.Apply("run", fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.workers != 9 || c.stateDir != "/from/file" || strings.Join(c.brokers, ",") != "file1:9092,file2:9092" || c.interval != 5*time.Minute {
		t.Errorf("run got %+v", c)
	}
	if src["workers"].Kind != "file" {
		t.Errorf("workers source %v", src["workers"])
	}
}

func TestApplyWithoutFileReportsSources(t *testing.T) {
	t.Parallel()
	getenv := env(map[string]string{"SLUICE_STATE_DIR": "/env/state"})
	fs, _ := newFlags("run", getenv, false)
	if err := fs.Parse([]string{"--workers=2"}); err != nil {
		t.Fatal(err)
	}
	src, err := config.Resolver{Getenv: getenv}.Apply("run", fs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"workers": "flag", "state-dir": "env SLUICE_STATE_DIR", "tls": "default"}
	for k, v := range want {
		if src[k].String() != v {
			t.Errorf("%s from %q, want %q", k, src[k], v)
		}
	}
}

func TestApplyBadValueNamesFileAndLine(t *testing.T) {
	t.Parallel()
	f, err := config.Parse("c.yaml", []byte("workers: 2\ntls: sometimes\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newFlags("run", env(nil), false)
	_ = fs.Parse(nil)
	_, err = config.Resolver{File: f}.Apply("run", fs)
	if err == nil || !strings.Contains(err.Error(), `c.yaml:2: "tls": not a valid value for --tls`) || strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("err = %v", err)
	}
}

func TestEnvVars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		usage string
		want  string
	}{
		{"local folder (env DAGS_DIR)", "DAGS_DIR"},
		{"brokers host:port (env SLUICE_KAFKA_BROKERS)", "SLUICE_KAFKA_BROKERS"},
		{"mechanism (env SLUICE_KAFKA_SASL_MECHANISM); password from SLUICE_KAFKA_SASL_PASSWORD", "SLUICE_KAFKA_SASL_MECHANISM"},
		{"read the password from this file (else env SLUICE_KAFKA_SASL_PASSWORD)", ""},
		{"state (env SLUICE_STATE_DIR, XDG_STATE_HOME)", "SLUICE_STATE_DIR XDG_STATE_HOME"},
		{"a or b (env A_B or C)", "A_B C"},
		{"no env at all", ""},
		{"the engine's state (env SLUICE_STATE_DIR; default $XDG_STATE_HOME/sluice)", "SLUICE_STATE_DIR"},
		{"caps runs; repeatable (env SLUICE_TAG_LIMITS, comma-separated)", "SLUICE_TAG_LIMITS"},
	}
	for _, tt := range tests {
		got := strings.Join(config.EnvVars(&flag.Flag{Usage: tt.usage}), " ")
		if got != tt.want {
			t.Errorf("EnvVars(%q) = %q, want %q", tt.usage, got, tt.want)
		}
	}
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := config.NewRedactor("AKIAEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG", "abc", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	in := "id=AKIAEXAMPLEKEY secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY short=abc partial=wJalrXUtnFEMI/K7MDENG"
	got := r.String(in)
	want := "id=[redacted] secret=[redacted] short=abc partial=[redacted]"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	var buf bytes.Buffer
	w := r.Writer(&buf)
	n, err := io.WriteString(w, "level=INFO token=AKIAEXAMPLEKEY\n")
	if err != nil || n != len("level=INFO token=AKIAEXAMPLEKEY\n") {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if buf.String() != "level=INFO token=[redacted]\n" {
		t.Fatalf("writer wrote %q", buf.String())
	}
	var nilR *config.Redactor
	if nilR.String("x") != "x" || config.NewRedactor().String("abcd") != "abcd" {
		t.Fatal("an empty redactor changed text")
	}
}

// The store URL's password and PGPASSWORD are secrets like the others: a
// library quoting one in an error prints nothing secret.
func TestSecretsIncludeTheStorePassword(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SLUICE_STORE": "postgres://sluice:hunter22@db.internal:5432/sluice?sslmode=disable",
		"PGPASSWORD":   "pg-secret-9",
	}
	r := config.NewRedactor(config.Secrets(func(k string) string { return env[k] })...)
	got := r.String("auth failed for hunter22; PGPASSWORD=pg-secret-9")
	if strings.Contains(got, "hunter22") || strings.Contains(got, "pg-secret-9") {
		t.Fatalf("redacted %q", got)
	}
	for _, url := range []string{"", "postgres://sluice@db/sluice", "%zz"} {
		if s := config.Secrets(func(k string) string {
			if k == "SLUICE_STORE" {
				return url
			}
			return ""
		}); len(s) != 0 {
			t.Fatalf("store %q without a password gave secrets %q", url, s)
		}
	}
}

func TestEffectiveRedactsSecretFlags(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("api-token", "tok_12345", "")
	fs.String("sasl-password-file", "/etc/pw", "")
	fs.String("state-dir", "/s", "")
	set := config.Effective(fs, config.Sources{"state-dir": {Kind: "env", Detail: "SLUICE_STATE_DIR"}})
	got := map[string]config.Setting{}
	for _, s := range set {
		got[s.Name] = s
	}
	if got["api-token"].Value != config.Redacted || !got["api-token"].Secret {
		t.Errorf("api-token shown as %+v", got["api-token"])
	}
	if got["sasl-password-file"].Value != "/etc/pw" {
		t.Errorf("a path to a secret was redacted: %+v", got["sasl-password-file"])
	}
	if got["state-dir"].From != "env SLUICE_STATE_DIR" || got["api-token"].From != "default" {
		t.Errorf("sources: %+v", set)
	}
	if set[0].Name != "api-token" || set[2].Name != "state-dir" {
		t.Errorf("not sorted: %+v", set)
	}
}

func TestLoadChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if f, err := config.LoadChecked("", schema()); f != nil || err != nil {
		t.Fatalf("no path: %v, %v", f, err)
	}
	if _, err := config.LoadChecked(filepath.Join(dir, "missing.yaml"), schema()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), config.MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.LoadChecked(big, schema()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("workers: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := config.LoadChecked(good, schema()); err != nil || f.Global["workers"].Text != "2" {
		t.Fatalf("good file: %+v, %v", f, err)
	}
	if p := config.Path("", env(map[string]string{"SLUICE_CONFIG": "/x.yaml"})); p != "/x.yaml" {
		t.Errorf("Path from env = %q", p)
	}
	if p := config.Path("/flag.yaml", env(map[string]string{"SLUICE_CONFIG": "/x.yaml"})); p != "/flag.yaml" {
		t.Errorf("Path with flag = %q", p)
	}
}
