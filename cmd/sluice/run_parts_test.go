package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine"
)

// parseRun parses args as run, console and serve do and builds the engine
// config.
func parseRun(t *testing.T, vars map[string]string, args ...string) (engine.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := &cliEnv{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	s, err := addRunFlags(fs, env)
	if err != nil {
		t.Fatalf("environment: %v", err)
	}
	if err := fs.Parse(append([]string{"--state-dir", t.TempDir()}, args...)); err != nil {
		t.Fatalf("flags: %v", err)
	}
	return s.config(nil)
}

// The Kafka, metapipeline and review settings reach the engine from flags
// over the environment; secrets only from the environment.
func TestPartSettingsReachTheEngine(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"SLUICE_KAFKA_BROKERS": "env:9092", "SLUICE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
		"SLUICE_KAFKA_SASL_USERNAME": "u", "SLUICE_KAFKA_SASL_PASSWORD": "kafka-secret",
		"DBT_MANIFEST": "/env/manifest.json", "MODE_WORKSPACE": "acme", "MODE_TOKEN": "tok", "MODE_SECRET": "sec",
		"SLUICE_META_KEEP_TAGS": "keep, pinned", "DBT_REPO": "/env/repo", "GITHUB_TOKEN": "gh-secret",
		"SLUICE_META_SCHEDULE": "0 4 * * *",
	}
	cfg, err := parseRun(t, vars, "--kafka-brokers", "a:9092,b:9092", "--manifest", "/flag/manifest.json",
		"--run-results", "/flag/rr", "--keep-tag", "core", "--repo", "/flag/repo", "--github-repo", "o/r", "--stale-days", "30")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Kafka.Brokers, []string{"a:9092", "b:9092"}) || cfg.Kafka.SASL.Password != "kafka-secret" {
		t.Errorf("kafka %v", cfg.Kafka)
	}
	m := cfg.Meta
	if m.Manifest != "/flag/manifest.json" || m.RunResults != "/flag/rr" || m.ModeWorkspace != "acme" ||
		m.ModeToken != "tok" || m.ModeSecret != "sec" || m.Schedule != "0 4 * * *" || m.StaleAfterDays != 30 ||
		!slices.Equal(m.Keep.Tags, []string{"keep", "pinned", "core"}) {
		t.Errorf("meta %+v", m)
	}
	r := cfg.Review
	if r.Repo != "/flag/repo" || r.GitHubRepo != "o/r" || r.Token != "gh-secret" {
		t.Errorf("review repo %q github %q token set %v", r.Repo, r.GitHubRepo, r.Token != "")
	}
}

func TestPartSettingsRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"mode without credentials", nil, []string{"--manifest", "m.json", "--mode-workspace", "acme"}, "MODE_TOKEN"},
		{"mode url without workspace", nil, []string{"--mode-url", "http://x"}, "--mode-workspace"},
		{"kafka tls file missing", nil, []string{"--kafka-brokers", "b:9092", "--kafka-tls-ca", "/nonexistent/ca.pem"}, "TLS CA"},
		{"sasl without password", map[string]string{"SLUICE_KAFKA_SASL_MECHANISM": "PLAIN", "SLUICE_KAFKA_SASL_USERNAME": "u"},
			[]string{"--kafka-brokers", "b:9092"}, "SLUICE_KAFKA_SASL_PASSWORD or --kafka-sasl-password-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseRun(t, c.vars, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// Every flag of the engine commands has one name: the parts' flags collide
// neither with the loader's nor with serve's own.
func TestEngineFlagsDoNotCollide(t *testing.T) {
	t.Parallel()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("flag registered twice: %v", p)
		}
	}()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, _, _, err := addServeFlags(fs, &cliEnv{getenv: func(string) string { return "" }}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kafka-brokers", "manifest", "mode-workspace", "repo", "github-api-url", "dags-dir", "scan-interval", "s3-bucket", "ssh"} {
		if fs.Lookup(name) == nil {
			t.Errorf("serve has no --%s", name)
		}
	}
	// Beside S3, GitHub and SSH settings a bare --tls or --brokers would
	// not say it is Kafka's.
	for _, name := range []string{"brokers", "client-id", "tls", "tls-ca", "sasl-mechanism", "sasl-username", "sasl-password-file"} {
		if fs.Lookup(name) != nil {
			t.Errorf("serve has an unprefixed Kafka flag --%s", name)
		}
	}
}

// The config file's keys are the prefixed flag names: kafka-brokers and
// kafka-sasl-password-file reach the engine's connection; the short names
// of the Kafka-only tools are unknown keys there.
func TestKafkaSettingsFromConfigFile(t *testing.T) {
	t.Parallel()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "kafka-brokers: [k1:9092, k2:9092]\nkafka-sasl-username: u\nkafka-sasl-password-file: "+pw+"\n")
	env := &cliEnv{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s, err := addRunFlags(fs, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--state-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	if code, ok := applyConfigFile("run", fs, env, cfg, &errOut); !ok {
		t.Fatalf("config file refused (%d): %s", code, errOut.String())
	}
	if !slices.Equal(s.kafka.Brokers, []string{"k1:9092", "k2:9092"}) || s.kafka.SASL.Username != "u" || s.kafka.SASL.Password != "from-file" {
		t.Errorf("kafka from file: %v", s.kafka)
	}

	old := writeConfig(t, "brokers: k:9092\n")
	errOut.Reset()
	if _, ok := applyConfigFile("run", flag.NewFlagSet("run", flag.ContinueOnError), env, old, &errOut); ok || !strings.Contains(errOut.String(), `"brokers": is not one of any command's flags`) {
		t.Errorf("short key accepted: %s", errOut.String())
	}
}
