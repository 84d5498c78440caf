package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeLive are the commands of README.md that need a live service or run
// until interrupted; their README lines run with --help instead, so at
// least their names and flags stay real.
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
}

// readmeExit are the README lines whose documented exit status is not 0,
// by a fragment of the line.
var readmeExit = map[string]int{
	"review show ID":      exitUsage, // "2 usage error or no such item": nothing is staged in the test's state dir
	"review approve ID":   exitUsage,
	"review reject ID":    exitUsage,
	"review unreject ID":  exitUsage,
	"review exclude ID":   exitUsage,
	"runs rerun 12":       exitUsage, // no run 12 in the test's state dir
	"runs mark 12":        exitUsage,
	"dags diff daily_etl": exitUsage, // only v1 stored: the test's engine loaded the file once
	"dags pin daily_etl":  exitUsage,
}

// Every `sluice …` command line in README.md's code blocks runs, against a
// temporary state dir and a copy of the example dags/, and exits 0 (or its
// documented status), so the README cannot drift from the CLI.
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

	for _, line := range lines {
		env, args := readmeArgs(t, line)
		want := exitOK
		for frag, code := range readmeExit {
			if strings.Contains(line, frag) {
				want = code
			}
		}
		live := readmeLive[args[0]] != "" || len(args) > 1 && readmeLive[args[0]+" "+args[1]] != ""
		for frag := range readmeNeeds {
			live = live || strings.Contains(line, frag)
		}
		if live {
			args, want = append(commandWords(args), "--help"), exitOK
		} else {
			args = fillPlaceholders(args)
		}
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			all := map[string]string{}
			for k, v := range vars {
				all[k] = v
			}
			for k, v := range env {
				all[k] = v
			}
			ctx, stop := context.WithTimeout(context.Background(), 60*time.Second)
			defer stop()
			code, _, errOut := runCmd(ctx, all, args...)
			if code != want {
				t.Errorf("README line %q: exit %d, want %d\n%s", line, code, want, errOut)
			}
		})
	}
}

var readmeCommand = regexp.MustCompile(`^(?:[A-Z_0-9]+=\S* )*sluice [a-z]`)

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
			out = append(out, line)
		}
	}
	return out
}

// readmeArgs splits a line the way a shell would for these simple lines:
// leading NAME=value assignments, single quotes, a trailing comment, and
// a pipe or redirection (dropped: the test only wants the exit status).
func readmeArgs(t *testing.T, line string) (map[string]string, []string) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
loop:
	for _, r := range line {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
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

// commandWords are the command's name: the words before the first flag or
// placeholder.
func commandWords(args []string) []string {
	n := 0
	for n < len(args) && n < 2 && regexp.MustCompile(`^[a-z]+$`).MatchString(args[n]) {
		if n == 1 && readmeLive[args[0]] != "" {
			break
		}
		n++
	}
	return append([]string(nil), args[:n]...)
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
