package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func consoleRunCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	code := dispatch(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestConsoleAndDemoHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"demo", "--help"}, []string{"embedded platform", "gofakes3", "sluice.sleep", "-churn", "-state-dir"}},
		{[]string{"console", "--help"}, []string{"Opens the console", "? shows every key", "NO_COLOR", "-log-file", "-max-concurrent-runs"}},
		{[]string{"--state-dir", "x", "--help"}, []string{"Opens the console"}}, // no command: the console
	} {
		code, _, stderr := consoleRunCmd(t, tc.args...)
		if code != exitOK {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: help lacks %q", tc.args, w)
			}
		}
	}
}

// Without a terminal the console refuses at once, before it touches the
// state dir or starts an engine, and says what to run instead.
func TestConsoleNeedsATerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, _, stderr := consoleRunCmd(t, "console", "--state-dir", dir, "--dags-dir", dir)
	if code != exitUsage || !strings.Contains(stderr, "needs a terminal") || !strings.Contains(stderr, "sluice run") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = consoleRunCmd(t, "demo", "--state-dir", dir, "--dags-dir", dir)
	if code != exitUsage || !strings.Contains(stderr, "needs a terminal") {
		t.Fatalf("demo: exit %d, stderr %q", code, stderr)
	}
}

func TestDemoMissingDAGsDir(t *testing.T) {
	t.Parallel()
	code, _, stderr := consoleRunCmd(t, "demo", "--dags-dir", t.TempDir()+"/nope")
	if code != exitUsage || !strings.Contains(stderr, "--dags-dir") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
