package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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

// A one-shot command finds the store where the config file's top level
// puts it (SLUICE_CONFIG), under the command line and the environment: a
// team naming its store only in sluice.yaml does not get a local SQLite
// file from `sluice trigger`.
func TestOneShotCommandsLocateTheStoreFromTheConfigFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	fromFile, fromFlag := filepath.Join(dir, "from-file"), filepath.Join(dir, "from-flag")
	cfg := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(cfg, []byte("state-dir: "+fromFile+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// HOME in the temp dir: a command that missed the file's state dir
	// would default to HOME's, never to a folder in the repository.
	vars := map[string]string{"SLUICE_CONFIG": cfg, "DAGS_DIR": "../../dags", "HOME": dir}

	code, out, errOut := runCmd(ctx, vars, "trigger", "daily_etl", "--json")
	if code != exitOK {
		t.Fatalf("trigger: exit %d\n%s", code, errOut)
	}
	var queued struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &queued); err != nil || queued.ID == 0 {
		t.Fatalf("trigger --json: %q (%v)", out, err)
	}
	code, out, errOut = runCmd(ctx, nil, "runs", "list", "--state-dir", fromFile, "--json")
	if code != exitOK || !strings.Contains(out, `"daily_etl"`) {
		t.Fatalf("the run is not in the config file's state dir: exit %d\n%s%s", code, out, errOut)
	}

	// The command line and the environment win over the file.
	if code, _, errOut = runCmd(ctx, vars, "trigger", "daily_etl", "--state-dir", fromFlag); code != exitOK {
		t.Fatalf("trigger --state-dir: exit %d\n%s", code, errOut)
	}
	byEnv := map[string]string{"SLUICE_CONFIG": cfg, "SLUICE_STATE_DIR": fromFlag, "HOME": dir}
	code, out, errOut = runCmd(ctx, byEnv, "runs", "list", "--json")
	if code != exitOK || !strings.Contains(out, `"daily_etl"`) {
		t.Fatalf("SLUICE_STATE_DIR did not win over the file: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = runCmd(ctx, vars, "runs", "list", "--json"); strings.Count(out, `"daily_etl"`) != 1 {
		t.Fatalf("the file's state dir holds other runs than its one: exit %d\n%s", code, out)
	}

	// A store URL in the file is the store they open: an unreachable one is
	// named (its password hidden), never replaced by the SQLite file.
	pgCfg := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(pgCfg, []byte("store: postgres://sluice:hunter22@127.0.0.1:1/sluice?sslmode=disable&connect_timeout=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(ctx, map[string]string{"SLUICE_CONFIG": pgCfg, "HOME": dir}, "runs", "list", "--state-dir", fromFile)
	if code == exitOK || !strings.Contains(errOut, "127.0.0.1") || strings.Contains(out+errOut, "hunter22") {
		t.Fatalf("runs list with the file's PostgreSQL store: exit %d\n%s%s", code, out, errOut)
	}

	// A config file that cannot be read is named, not skipped.
	code, _, errOut = runCmd(ctx, map[string]string{"SLUICE_CONFIG": filepath.Join(dir, "missing.yaml"), "HOME": dir}, "runs", "list")
	if code != exitUsage || !strings.Contains(errOut, "missing.yaml") || !strings.Contains(errOut, "SLUICE_CONFIG") {
		t.Fatalf("unreadable SLUICE_CONFIG: exit %d\n%s", code, errOut)
	}
}
