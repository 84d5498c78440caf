package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	pw := filepath.Join(t.TempDir(), "kafka-password")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := writeConfig(t, "state-dir: /var/lib/sluice\nscan-interval: 45s\nserve:\n  ssh: \":2222\"\n  max-concurrent-runs: 3\n"+
		"kafka-brokers: [k1:9092, k2:9092]\nkafka-sasl-password-file: "+pw+"\n")
	vars := map[string]string{"SLUICE_MAX_CONCURRENT_RUNS": "7", "HOME": "/home/op"}
	code, out, errOut := runCmd(context.Background(), vars, "config", "check", "--config", good, "serve", "run")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{good + ": ok", "[serve]", "[run]", "[secrets, from the environment only]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, want := range [][]string{
		{"ssh", ":2222", "file", good + ":4"},
		{"max-concurrent-runs", "7", "env", "SLUICE_MAX_CONCURRENT_RUNS"},
		{"scan-interval", "45s", "file", good + ":2"},
		// Func flags print no value; the source says the file's key took.
		{"kafka-brokers", `""`, "file", good + ":6"},
		{"kafka-sasl-password-file", `""`, "file", good + ":7"},
		{"GITHUB_TOKEN", "unset"},
	} {
		if !hasRow(out, want) {
			t.Errorf("output lacks the row %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[console]") {
		t.Error("a command not asked for was listed")
	}
	// run has no --ssh: the section's setting stays serve's.
	runPart := out[strings.Index(out, "[run]"):]
	if strings.Contains(runPart[:strings.Index(runPart, "[secrets")], "ssh ") {
		t.Error("serve's ssh setting shows under run")
	}

	// JSON, with the file from the environment.
	vars["SLUICE_CONFIG"] = good
	code, out, _ = runCmd(context.Background(), vars, "config", "check", "--json")
	var rep checkReport
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || !rep.Valid || len(rep.Commands) != 3 || rep.File != good {
		t.Fatalf("json: %d %+v\n%s", code, rep, out)
	}
}

func TestConfigCheckProblems(t *testing.T) {
	t.Parallel()
	bad := writeConfig(t, "state-dri: /x\nscan-interval: soon\nrun:\n  ssh: :22\nmode-token: tok_SHOULD_NOT_PRINT\n")
	code, out, errOut := runCmd(context.Background(), nil, "config", "check", "--config", bad)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		bad + ":1: \"state-dri\": is not one of any command's flags",
		bad + ":2: \"scan-interval\": not a valid value for --scan-interval",
		bad + ":4: \"ssh\": is not one of `sluice run`'s flags",
		bad + ":5: \"mode-token\": is not a setting: secrets are never read from the config file",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "4 problem(s)") {
		t.Errorf("stderr %q", errOut)
	}
	if strings.Contains(out+errOut, "tok_SHOULD_NOT_PRINT") || strings.Contains(out+errOut, "soon") {
		t.Errorf("a value from the file was printed:\n%s\n%s", out, errOut)
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, exitUsage, "no such file"},
		{"malformed YAML", []string{"--config", writeConfig(t, "state-dir: [a\n")}, exitFailed, "sluice.yaml"},
		{"unknown command", []string{"deploy"}, exitUsage, `"deploy" does not read the config file`},
		{"help", []string{"--help"}, exitOK, "Precedence: command line, then environment"},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(context.Background(), nil, append([]string{"config", "check"}, tt.args...)...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%s: exit %d (want %d)\n%s%s", tt.name, code, tt.code, out, errOut)
		}
	}
	code, _, _ = runCmd(context.Background(), nil, "config", "check")
	if code != exitOK {
		t.Errorf("no config file: exit %d", code)
	}
}

// The schema lists exactly the flags the commands parse: a key the
// command has is accepted, so a drift between configurable and the
// commands shows here.
func TestConfigSchemaMatchesCommands(t *testing.T) {
	t.Parallel()
	schema := configSchema(&cliEnv{getenv: func(string) string { return "" }})
	for _, name := range []string{"state-dir", "dags-dir", "max-concurrent-runs", "log-level"} {
		for _, cmd := range []string{"run", "serve", "console"} {
			if schema[cmd].Lookup(name) == nil {
				t.Errorf("%s lacks --%s", cmd, name)
			}
		}
	}
	for _, name := range []string{"ssh", "authorized-keys", "host-key", "metrics", "ssh-default-role"} {
		if schema["serve"].Lookup(name) == nil {
			t.Errorf("serve lacks --%s", name)
		}
	}
	// Each command's flags as the command really parses them (its --help):
	// a flag added to a command but not to configurable fails here.
	for _, cmd := range []string{"run", "serve", "console"} {
		code, _, errOut := runCmd(context.Background(), nil, cmd, "--help")
		if code != exitOK {
			t.Fatalf("%s --help: %d", cmd, code)
		}
		listed := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(errOut, -1) {
			listed[m[1]] = true
			if m[1] != "config" && schema[cmd].Lookup(m[1]) == nil {
				t.Errorf("%s --%s is missing from the config schema", cmd, m[1])
			}
		}
		schema[cmd].VisitAll(func(f *flag.Flag) {
			if !listed[f.Name] {
				t.Errorf("the schema's %s --%s is not a flag of %s", cmd, f.Name, cmd)
			}
		})
	}
}

// hasRow reports whether some line of out has exactly fields.
func hasRow(out string, fields []string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

// Precedence needs to know each flag's environment variable: every flag
// of a configurable command names one, except those that have none.
func TestEveryConfigurableFlagNamesItsEnv(t *testing.T) {
	t.Parallel()
	noEnv := map[string]bool{"config": true, "log-file": true}
	for name, fs := range configSchema(&cliEnv{getenv: func(string) string { return "" }}) {
		fs.VisitAll(func(f *flag.Flag) {
			if len(flagEnv(f)) == 0 && !noEnv[f.Name] {
				t.Errorf("%s --%s names no environment variable in its usage: a config file would override the environment", name, f.Name)
			}
		})
	}
}

// The loader's timeouts and allow-list and the review's token hosts are
// settings like any other: flag, environment, config file.
func TestConfigNewSettings(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "scan-timeout: 90s\ns3-request-timeout: 5s\ngithub-token-hosts: [git.example, ghe.example]\n")
	vars := map[string]string{"SLUICE_DAGS_ENV_ALLOW": "TEAM,REGION", "HOME": "/home/op"}
	code, out, errOut := runCmd(context.Background(), vars, "config", "check", "--config", file, "run")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range [][]string{
		{"scan-timeout", "1m30s", "file", file + ":1"},
		{"s3-request-timeout", "5s", "file", file + ":2"},
		{"github-token-hosts", "git.example,ghe.example", "file", file + ":3"},
		{"dags-env-allow", "TEAM,REGION", "env", "SLUICE_DAGS_ENV_ALLOW"},
	} {
		if !hasRow(out, want) {
			t.Errorf("output lacks the row %q:\n%s", want, out)
		}
	}
	bad := writeConfig(t, "scan-timeout: -1s\n")
	if code, out, _ := runCmd(context.Background(), nil, "config", "check", "--config", bad); code != exitFailed ||
		!strings.Contains(out, "not a valid value for --scan-timeout") {
		t.Errorf("a negative scan timeout: exit %d\n%s", code, out)
	}
}

// include-sources is a config key of the commands that stage reviews, and
// the environment ranks above the file.
func TestConfigIncludeSources(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "include-sources: true\n")
	code, out, errOut := runCmd(context.Background(), map[string]string{"HOME": "/home/op"}, "config", "check", "--config", file, "run")
	if code != exitOK || !hasRow(out, []string{"include-sources", "true", "file", file + ":1"}) {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	vars := map[string]string{"HOME": "/home/op", "SLUICE_INCLUDE_SOURCES": "false"}
	if code, out, _ := runCmd(context.Background(), vars, "config", "check", "--config", file, "run"); code != exitOK ||
		!hasRow(out, []string{"include-sources", "false", "env", "SLUICE_INCLUDE_SOURCES"}) {
		t.Errorf("the environment did not win: exit %d\n%s", code, out)
	}
}

// A file with one bad key still shows every other key of the file in
// effect, and the bad one at its default with where it is; settings whose
// zero stands for a default show that default.
func TestConfigCheckShowsEffectiveValuesDespiteAnError(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, "state-dir: /var/lib/sluice\nmax-concurrent-runs: 3\nscan-interval: bogus\n")
	code, out, errOut := runCmd(context.Background(), nil, "config", "check", "--config", p, "--json", "run")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], `"scan-interval"`) {
		t.Errorf("problems %q, want one naming scan-interval", r.Problems)
	}
	got := map[string][2]string{}
	for _, s := range r.Commands[0].Settings {
		got[s.Name] = [2]string{s.Value, s.From}
	}
	want := map[string][2]string{
		"state-dir":           {"/var/lib/sluice", p + ":1"},
		"max-concurrent-runs": {"3", p + ":2"},
		"scan-interval":       {"30s", "default (" + p + ":3 is invalid)"},
		"max-delete-fraction": {"0.2", "default"},
		"quiet-days":          {"30", "default"},
		"reconsider-days":     {"30", "default"},
		"stale-days":          {"100", "default"},
		"deprecate-mode":      {"disable", "default"},
	}
	for name, w := range want {
		g := got[name]
		if g[0] != w[0] || !strings.HasSuffix(g[1], w[1]) {
			t.Errorf("%s = %q from %q, want %q from …%q", name, g[0], g[1], w[0], w[1])
		}
	}
}

// The durations the environment sets take effect: config check once said
// "env SLUICE_POLL_INTERVAL" beside the default, the variable unread.
func TestDurationsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"HOME": "/home/op", "SLUICE_LEASE": "1m", "SLUICE_POLL_INTERVAL": "5s",
		"SLUICE_MISSING_DAG_GRACE": "2m", "SLUICE_KILL_GRACE": "3s", "SLUICE_SSH_IDLE_TIMEOUT": "20m",
		"SLUICE_SSH_HANDSHAKE_TIMEOUT": "4s"}
	code, out, errOut := runCmd(context.Background(), vars, "config", "check", "serve")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range [][]string{
		{"lease", "1m0s", "env", "SLUICE_LEASE"},
		{"poll-interval", "5s", "env", "SLUICE_POLL_INTERVAL"},
		{"missing-dag-grace", "2m0s", "env", "SLUICE_MISSING_DAG_GRACE"},
		{"kill-grace", "3s", "env", "SLUICE_KILL_GRACE"},
		{"ssh-idle-timeout", "20m0s", "env", "SLUICE_SSH_IDLE_TIMEOUT"},
		{"ssh-handshake-timeout", "4s", "env", "SLUICE_SSH_HANDSHAKE_TIMEOUT"},
	} {
		if !hasRow(out, want) {
			t.Errorf("output lacks the row %q:\n%s", want, out)
		}
	}
}
