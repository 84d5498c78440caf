package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// readmeLive are the commands of README.md that need a live service or run
// until interrupted; their README lines run with --help appended, so the
// CLI still parses every flag and value shown before it prints the usage.
var readmeLive = map[string]string{
	"run":        "runs until interrupted (the test runs its own engine for trigger --wait)",
	"serve":      "runs until interrupted, serves SSH",
	"console":    "needs a terminal",
	"demo":       "needs a terminal",
	"dags watch": "runs until interrupted",
	"broker":     "runs until interrupted",
	"produce":    "needs a Kafka broker",
	"lag":        "needs a Kafka broker",
	"meta run":   "needs a dbt git repository (PATH_OR_URL)",
}

// readmeNeeds are single README lines needing a service the command does
// not embed, by a fragment of the line; they run with --help too.
var readmeNeeds = map[string]string{
	"AWS_ENDPOINT_URL_S3=": "an S3 endpoint",
	"MODE_TOKEN=":          "Mode's API",
	"--dags-git https://":  "a git remote",
	"--store postgres://":  "a PostgreSQL server",
}

// readmeRefused are the README lines the test's state cannot satisfy, by a
// fragment of the line: each must be refused for that reason (says, on
// stderr) with the documented status, not for its own words.
var readmeRefused = map[string]readmeExpect{
	// "2 usage error or no such item": nothing is staged in the test's
	// state dir (staging needs a dbt repository, approving a git remote).
	"review show ID":     {exitUsage, "review item not found"},
	"review approve ID":  {exitUsage, "review item not found"},
	"review reject ID":   {exitUsage, "review item not found"},
	"review unreject ID": {exitUsage, "review item not found"},
	"review exclude ID":  {exitUsage, "review item not found"},
	"runs rerun 12":      {exitUsage, "run 12: not found"}, // no run 12 in the test's state dir
	"runs mark 12":       {exitUsage, "run 12: not found"},
	"sensors replay 12":  {exitUsage, "run 12: not found"},
	// No broker in the test: refused for that only after the flags and the
	// target (--to-time, --to-offset, …) were parsed and checked.
	"sensors reset-offsets": {exitUsage, "no Kafka brokers: set --kafka-brokers or SLUICE_KAFKA_BROKERS"},
}

// readmeExpect is how a README line must end: its exit status and, unless
// it exits 0, what stderr says.
type readmeExpect struct {
	code int
	says string
}

// readmeComplaints are what the CLI says about a line it did not
// understand: a README line showing any of them has drifted from the CLI,
// whatever its exit status.
var readmeComplaints = []string{
	"flag provided but not defined", "flag needs an argument", "bad flag syntax", "invalid value",
	"invalid boolean", "unknown flag", "unknown shorthand flag", "for usage.", "missing subcommand",
	"unknown command", "see sluice --help",
}

// Every `sluice …` command line in README.md's code blocks runs, against a
// temporary state dir and a copy of the example dags/, and exits 0 or is
// refused for the documented reason, never for its flags or arguments, so
// the README cannot drift from the CLI.
func TestREADMECommands(t *testing.T) {
	lines := readmeCommandLines(t, "../../README.md")
	if len(lines) < 15 {
		t.Fatalf("found only %d sluice command lines in README.md", len(lines))
	}
	work := t.TempDir()
	copyTree(t, "../../dags", filepath.Join(work, "dags"))
	copyFile(t, "../../dags/daily_etl.json", filepath.Join(work, "a.json"))
	copyFile(t, "../../dags/regional_reports.star", filepath.Join(work, "b.star"))
	copyFile(t, "../../testdata/fixtures/dbt/jaffle_shop__v12__dbt1.12.0__duckdb/manifest.json", filepath.Join(work, "target", "manifest.json"))
	t.Chdir(work)
	vars := map[string]string{"SLUICE_STATE_DIR": filepath.Join(work, "state"), "TMPDIR": t.TempDir()}

	// An engine on the state dir, as the README's `sluice run` starts it,
	// runs what `sluice trigger … --wait` queues.
	ctx, cancel := context.WithCancel(context.Background())
	engineDone := make(chan int, 1)
	go func() {
		env := &cliEnv{stdout: &syncBuffer{}, stderr: &syncBuffer{}, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
		engineDone <- dispatch(ctx, env, []string{"run", "--dags-dir", "dags"})
	}()
	defer func() {
		cancel()
		if code := <-engineDone; code != exitOK {
			t.Errorf("the engine exited %d", code)
		}
	}()
	// `dags diff daily_etl 2 3` and `dags pin daily_etl 2` need versions 2
	// and 3: the engine stores one per content it loads.
	editDAGVersions(t, vars, filepath.Join("dags", "daily_etl.json"), 3)

	for _, line := range lines {
		l := planREADMELine(t, line)
		t.Run(strings.Join(l.args, " "), func(t *testing.T) {
			if err := l.check(vars); err != nil {
				t.Error(err)
			}
		})
	}
}

// readmeLine is one README command line made runnable: its environment
// and arguments, and how it must end.
type readmeLine struct {
	line string
	env  map[string]string
	args []string
	want readmeExpect
	help bool // run with --help: the CLI checks its flags and prints usage
}

// planREADMELine turns a README line into the command the test runs. A
// line needing a live service runs with its flags and --help, so the flag
// names and values are still parsed.
func planREADMELine(t *testing.T, line string) readmeLine {
	t.Helper()
	env, args := readmeArgs(t, line)
	l := readmeLine{line: line, env: env, args: fillPlaceholders(args), want: readmeExpect{code: exitOK}}
	for frag, want := range readmeRefused {
		if strings.Contains(line, frag) {
			l.want = want
		}
	}
	live := readmeLive[args[0]] != "" || len(args) > 1 && readmeLive[args[0]+" "+args[1]] != ""
	for frag := range readmeNeeds {
		live = live || strings.Contains(line, frag)
	}
	if live {
		l.args, l.want, l.help = append(l.args, "--help"), readmeExpect{code: exitOK}, true
	}
	return l
}

// check runs the line with vars (and the line's own assignments) and says
// what is wrong with how it ended, or nil.
func (l readmeLine) check(vars map[string]string) error {
	all := maps.Clone(vars)
	maps.Copy(all, l.env)
	ctx, stop := context.WithTimeout(context.Background(), 60*time.Second)
	defer stop()
	code, _, errOut := runCmd(ctx, all, l.args...)
	for _, c := range readmeComplaints {
		if strings.Contains(errOut, c) {
			return fmt.Errorf("README line %q: the CLI does not understand it (%q), exit %d:\n%s", l.line, c, code, errOut)
		}
	}
	if !l.help && strings.Contains(errOut, "Usage:") {
		return fmt.Errorf("README line %q: answered with its usage, exit %d:\n%s", l.line, code, errOut)
	}
	if code != l.want.code {
		return fmt.Errorf("README line %q: exit %d, want %d\n%s", l.line, code, l.want.code, errOut)
	}
	if !strings.Contains(errOut, l.want.says) {
		return fmt.Errorf("README line %q: refused without saying %q:\n%s", l.line, l.want.says, errOut)
	}
	return nil
}

// editDAGVersions rewrites the DAG file (its description) until the running
// engine has stored n versions of it.
func editDAGVersions(t *testing.T, vars map[string]string, path string, n int) {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	versions := func() int {
		code, out, errOut := runCmd(context.Background(), vars, "dags", "versions", name, "--json")
		if code != exitOK {
			t.Fatalf("dags versions %s: exit %d: %s", name, code, errOut)
		}
		var vs []api.DAGVersion
		if err := json.Unmarshal([]byte(out), &vs); err != nil {
			t.Fatalf("dags versions %s --json: %v\n%s", name, err, out)
		}
		return len(vs)
	}
	var def map[string]any
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &def); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for v := 1; v <= n; v++ {
		if v > 1 {
			def["description"] = fmt.Sprintf("%v (edit %d)", def["description"], v)
			data, _ := json.Marshal(def) // a decoded object always marshals
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		enginetest.Eventually(t, 20*time.Second, func() bool { return versions() >= v }, fmt.Sprintf("version %d of %s", v, name))
	}
}

// readmeCommand is a command line, after an optional shell prompt ("$ ").
var readmeCommand = regexp.MustCompile(`^(?:\$ )?(?:[A-Z_0-9]+=\S* )*sluice [a-z]`)

// readmeCommandLines are the lines of the file's fenced code blocks that
// run sluice, continuation lines joined.
func readmeCommandLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	inCode, cont := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		if cont != "" {
			line = cont + " " + strings.TrimSpace(line)
			cont = ""
		}
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		if readmeCommand.MatchString(line) {
			out = append(out, strings.TrimPrefix(line, "$ "))
		}
	}
	return out
}

// readmeArgs splits a line the way a shell would for these simple lines:
// leading NAME=value assignments, single and double quotes (a backslash
// escapes the next character inside double quotes and outside quotes), a
// trailing comment, and a pipe or redirection (dropped: the test only
// wants how the command ends).
func readmeArgs(t *testing.T, line string) (map[string]string, []string) {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, escaped := false, false
	var quote rune // the open quote, or 0
loop:
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case !inWord && (r == '#' || r == '|' || r == '>'):
			break loop
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("README line %q: unclosed %c quote", line, quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	env := map[string]string{}
	for len(words) > 0 && words[0] != "sluice" {
		k, v, _ := strings.Cut(words[0], "=")
		env[k] = v
		words = words[1:]
	}
	if len(words) < 2 {
		t.Fatalf("README line %q: no command", line)
	}
	return env, words[1:]
}

// fillPlaceholders turns a synopsis into a command line: optional parts
// ([--json]) are left out and ID is the first item.
func fillPlaceholders(args []string) []string {
	var out []string
	optional := false
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "["):
			optional = !strings.HasSuffix(a, "]")
		case optional:
			optional = !strings.HasSuffix(a, "]")
		case a == "ID":
			out = append(out, "1")
		default:
			out = append(out, a)
		}
	}
	return out
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		copyFile(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The checker itself: a README line with a flag the CLI does not have, or
// a quoted argument split into words, fails it, though the command exits
// with the status a refusal would; the same line written right passes.
func TestREADMECheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	_, state := enginetest.Store(t) // a state dir with nothing in it
	vars := map[string]string{"SLUICE_STATE_DIR": state}
	for _, tc := range []struct {
		line, complaint string // complaint "" means the line passes
	}{
		{"sluice runs rerun 12 --reason warehouse-down", ""},
		{"sluice runs rerun 12 --bogus-flag --reason warehouse-down", "flag provided but not defined"},
		{"sluice runs rerun 12 --reason", "flag needs an argument"},
		{"sluice runs rerun --reason warehouse-down", "exit"},
		{`sluice review exclude ID MODEL --keep --reason "finance reads it monthly"`, ""},
		{"sluice review exclude ID MODEL --keep --reason finance reads it monthly", "for usage."},
		{"sluice dags watch --json # one line per change", ""},
		{"sluice dags watch --bogus-flag", "flag provided but not defined"},
		{"sluice sensors reset-offsets clickstream --to-earliest --dry-run", ""},
		{"sluice sensors reset-offsets clickstream --to-earliest --to-latest", "refused without saying"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			err := planREADMELine(t, tc.line).check(vars)
			switch {
			case tc.complaint == "" && err != nil:
				t.Errorf("a right line failed the checker: %v", err)
			case tc.complaint != "" && err == nil:
				t.Errorf("the checker passed a drifted line (want it to complain of %q)", tc.complaint)
			case tc.complaint != "" && !strings.Contains(err.Error(), tc.complaint):
				t.Errorf("the checker complained %v, want %q", err, tc.complaint)
			}
		})
	}
}

func TestREADMEArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		env  map[string]string
		args []string
	}{
		{`sluice review exclude 1 m --reason "finance reads it monthly"`, nil,
			[]string{"review", "exclude", "1", "m", "--reason", "finance reads it monthly"}},
		{`sluice trigger etl --config '{"day": "2024-06-01"}' --wait`, nil,
			[]string{"trigger", "etl", "--config", `{"day": "2024-06-01"}`, "--wait"}},
		{`sluice x --reason "say \"hi\" it's" # a comment`, nil, []string{"x", "--reason", `say "hi" it's`}},
		{`sluice x --reason a\ b ""`, nil, []string{"x", "--reason", "a b", ""}},
		{`A=1 B= sluice dags list | head > out`, map[string]string{"A": "1", "B": ""}, []string{"dags", "list"}},
	} {
		env, args := readmeArgs(t, tc.line)
		if tc.env == nil {
			tc.env = map[string]string{}
		}
		if !maps.Equal(env, tc.env) || !slices.Equal(args, tc.args) {
			t.Errorf("readmeArgs(%s) = %q %q, want %q %q", tc.line, env, args, tc.env, tc.args)
		}
	}
}

// A line shown after a prompt is a command line too; its output is not.
func TestREADMECommandLinesTakePromptedLines(t *testing.T) {
	t.Parallel()
	readme := filepath.Join(t.TempDir(), "README.md")
	text := "sluice dags list\n```\n$ sluice sensors reset-offsets c --to-earliest \\\n  --dry-run\ngroup sluice.c\nsluice runs list # ok\n```\n"
	if err := os.WriteFile(readme, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got := readmeCommandLines(t, readme)
	want := []string{"sluice sensors reset-offsets c --to-earliest  --dry-run", "sluice runs list # ok"}
	if !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}
