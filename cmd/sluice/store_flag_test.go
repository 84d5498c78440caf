package main

import (
	"context"
	"strings"
	"testing"
)

// storeCommands are the commands that open the store: each takes --store
// (env SLUICE_STORE). demo keeps its own SQLite file.
var storeCommands = [][]string{
	{"run"}, {"serve"}, {"console"}, {"status"}, {"trigger"}, {"instances"},
	{"runs", "list"}, {"runs", "rerun"}, {"runs", "mark"}, {"audit"},
	{"review", "list"}, {"review", "show"}, {"review", "approve"}, {"review", "reject"},
	{"review", "unreject"}, {"review", "exclude"}, {"meta", "run"},
	{"dags", "pause"}, {"dags", "unpause"}, {"dags", "versions"}, {"dags", "pin"},
	{"dags", "unpin"}, {"dags", "diff"}, {"backfill"}, {"backfills", "list"},
	{"backfills", "cancel"}, {"sensors", "replay"}, {"sensors", "reset-offsets"},
}

// Every command that opens the store lists --store in its help, and a
// password in SLUICE_STORE (the flag's default) is never printed there.
func TestEveryStoreCommandTakesStoreAndHidesItsPassword(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SLUICE_STORE": "postgres://sluice:hunter22@db.internal:5432/sluice?sslmode=disable"}
	for _, c := range storeCommands {
		code, out, errOut := runCmd(context.Background(), vars, append(c, "--help")...)
		name := strings.Join(c, " ")
		if code != exitOK {
			t.Errorf("%s --help: exit %d\n%s", name, code, errOut)
			continue
		}
		if !strings.Contains(errOut, "\n  -store ") {
			t.Errorf("%s has no --store flag:\n%s", name, errOut)
		}
		if strings.Contains(out+errOut, "hunter22") {
			t.Errorf("%s --help prints the store's password:\n%s", name, errOut)
		}
		if !strings.Contains(errOut, "postgres://sluice:xxxxx@db.internal") {
			t.Errorf("%s --help does not show the redacted default store:\n%s", name, errOut)
		}
	}
}

// sluice instances reads SLUICE_LEASE as run does: a bad value is a usage
// error, not silently the default.
func TestInstancesRefusesABadLease(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{map[string]string{"SLUICE_LEASE": "soon"}, nil, `SLUICE_LEASE: "soon" is not a positive duration`},
		{map[string]string{"SLUICE_LEASE": "-5s"}, nil, `SLUICE_LEASE: "-5s" is not a positive duration`},
		{nil, []string{"--lease", "0s"}, "--lease 0s: want a positive duration"},
	} {
		args := append([]string{"instances", "--state-dir", dir}, tc.args...)
		code, _, errOut := runCmd(context.Background(), tc.vars, args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v %v: exit %d %q; want %d saying %q", tc.vars, tc.args, code, errOut, exitUsage, tc.want)
		}
	}
	if code, _, errOut := runCmd(context.Background(), map[string]string{"SLUICE_LEASE": "45s"}, "instances", "--json", "--state-dir", dir); code != exitOK {
		t.Fatalf("a good SLUICE_LEASE: exit %d %s", code, errOut)
	}
}
