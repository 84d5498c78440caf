package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Flags go before or after the positional arguments, in Go's -flag or
// cobra's --flag spelling; "--" ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "state")
	code, out, errOut := runCmd(ctx, map[string]string{"DAGS_DIR": "../../dags"}, "trigger", "daily_etl", "--config", `{"day":"2024-06-01"}`, "--state-dir", state, "--priority", "2", "--json")
	if code != exitOK {
		t.Fatalf("trigger with flags after the DAG: exit %d: %s", code, errOut)
	}
	var row runRow
	if err := json.Unmarshal([]byte(out), &row); err != nil || row.DAG != "daily_etl" || row.Priority != 2 || !strings.Contains(string(row.Config), `"2024-06-01"`) {
		t.Fatalf("trigger --json = %q (%v)", out, err)
	}
	code, _, errOut = runCmd(ctx, nil, "review", "approve", "1", "--state-dir", filepath.Join(t.TempDir(), "empty"))
	if code != exitUsage || strings.Contains(errOut, "want one review ID") || !strings.Contains(errOut, "no state in") {
		t.Fatalf("review approve 1 --state-dir: exit %d: %s", code, errOut)
	}
	code, out, errOut = runCmd(ctx, nil, "runs", "list", "-state-dir", state, "-json")
	if code != exitOK || !strings.Contains(out, `"daily_etl"`) {
		t.Fatalf("single-dash flags: exit %d: %s %s", code, out, errOut)
	}
	// After "--" a name is a name, not a flag: it reaches the DAG lookup.
	code, _, errOut = runCmd(ctx, nil, "trigger", "--state-dir", state, "--", "-odd-name")
	if code != exitUsage || !strings.Contains(errOut, `no DAG named "-odd-name"`) {
		t.Fatalf("a DAG after --: exit %d: %s", code, errOut)
	}
	// A value flag last, after the arguments, lacks its value; it does not
	// take the "--" that permuting puts before the arguments.
	code, _, errOut = runCmd(ctx, nil, "trigger", "daily_etl", "--state-dir", state, "--config")
	if code != exitUsage || !strings.Contains(errOut, "flag needs an argument: -config") {
		t.Fatalf("a value flag without its value: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCmd(ctx, nil, "trigger", "a", "b", "--state-dir", state)
	if code != exitUsage || !strings.Contains(errOut, `unexpected argument "b"`) {
		t.Fatalf("two DAGs: exit %d: %s", code, errOut)
	}
}

func TestCompletionAndUnknownCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := runCmd(ctx, nil, "completion", shell)
		if code != exitOK || !strings.Contains(out, "sluice") {
			t.Errorf("completion %s: exit %d, %d bytes: %s", shell, code, len(out), errOut)
		}
	}
	// A shell with no script, or none named, says which there are.
	for _, args := range [][]string{{"completion", "tcsh"}, {"completion"}} {
		code, _, errOut := runCmd(ctx, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, "bash, zsh, fish or powershell") || strings.Contains(errOut, "missing subcommand") {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
	// The shell asks cobra for completions: commands, then flags.
	code, out, _ := runCmd(ctx, nil, "__complete", "review", "ap")
	if code != exitOK || !strings.Contains(out, "approve") {
		t.Errorf("completing review ap: %q", out)
	}
	code, out, _ = runCmd(ctx, nil, "__complete", "trigger", "--pri")
	if code != exitOK || !strings.Contains(out, "--priority") {
		t.Errorf("completing trigger --pri: %q", out)
	}
	if code, _, errOut := runCmd(ctx, nil, "bogus"); code != exitUnknown || !strings.Contains(errOut, `unknown command "bogus"`) {
		t.Errorf("bogus: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCmd(ctx, nil, "dags"); code != exitUsage || !strings.Contains(errOut, "dags list") {
		t.Errorf("a group alone: exit %d: %s", code, errOut)
	}
	if code, out, _ := runCmd(ctx, nil, "--version"); code != exitOK || !strings.HasPrefix(out, "sluice ") {
		t.Errorf("--version: exit %d: %s", code, out)
	}
}
