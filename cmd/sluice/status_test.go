package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

type statusJSON struct {
	Version string
	Engine  struct {
		Running bool
		PID     int
	}
	Sources []struct {
		Kind, Location string
		OK             bool
		Files          int
		Commit         *struct{ Hash, Short, Author, Subject string }
	}
	DAGs  map[string]int
	Queue struct {
		Queued, Running   int
		MaxConcurrentRuns int `json:"max_concurrent_runs"`
	}
	Notifications struct{ Available bool }
	Store         struct {
		Kind      string
		Exists    bool
		SizeBytes int64 `json:"size_bytes"`
	}
	Problems []string
}

// sluice status on the real binary, beside a running `sluice run` whose
// DAGs come from a git repository: healthy (exit 0) with the commit, then
// unhealthy (exit 1, with the reason) once a commit breaks a DAG.
func TestStatusBesideRunningEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	bare, work, first := gitRepoWithWork(t, map[string]string{"dags/etl.json": dagsGoodJSON, "dags/b.json": dagsGoodJSON})
	state := t.TempDir()
	args := []string{"--state-dir", state, "--dags-dir=", "--dags-git", bare, "--dags-git-path", "dags", "--max-concurrent-runs", "3"}

	eng := startBinary(t, bin, map[string]string{"SLUICE_STATE_DIR": state}, filepath.Join(t.TempDir(), "run.log"), append([]string{"run"}, args...)...)
	t.Cleanup(func() {
		eng.Process.Signal(syscall.SIGTERM)
		eng.Wait()
	})
	if !enginetest.Poll(30*time.Second, func() bool {
		_, held, _ := store.LockHolder(state)
		// Migrated, not just created: SQLite writes the file (or its WAL)
		// only once the first statement has run.
		db, err := os.Stat(filepath.Join(state, store.DBFile))
		_, walErr := os.Stat(filepath.Join(state, store.DBFile+"-wal"))
		return err == nil && held && (db.Size() > 0 || walErr == nil)
	}) {
		t.Fatal("the engine did not start")
	}

	status := func() (int, statusJSON, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"status", "--json"}, args...)...)
		cmd.Env = append(os.Environ(), "SLUICE_CONFIG=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var st statusJSON
		if err := json.Unmarshal(out, &st); err != nil {
			t.Fatalf("status --json: %v\n%s\nstderr: %s", err, out, stderr.String())
		}
		return code, st, string(out)
	}

	code, st, out := status()
	if code != exitOK || len(st.Problems) != 0 {
		t.Fatalf("healthy status: exit %d\n%s", code, out)
	}
	if !st.Engine.Running || st.Engine.PID != eng.Process.Pid {
		t.Errorf("engine %+v, want running as pid %d", st.Engine, eng.Process.Pid)
	}
	if len(st.Sources) != 1 || st.Sources[0].Kind != "git" || !st.Sources[0].OK || st.Sources[0].Files != 2 ||
		st.Sources[0].Commit == nil || st.Sources[0].Commit.Hash != first || st.Sources[0].Commit.Subject != "init" {
		t.Errorf("sources:\n%s", out)
	}
	if st.DAGs["active"] != 2 || st.Queue.MaxConcurrentRuns != 3 || st.Store.Kind != "sqlite" || !st.Store.Exists || st.Store.SizeBytes == 0 {
		t.Errorf("counts, queue or store:\n%s", out)
	}
	if st.Version == "" || !st.Notifications.Available {
		t.Errorf("version or notifications:\n%s", out)
	}

	commitTo(t, work, bare, "break etl", map[string]string{"dags/etl.json": dagsBadJSON})
	code, st, out = status()
	if code != exitFailed || st.DAGs["invalid"] != 1 || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "invalid: etl") {
		t.Fatalf("unhealthy status: exit %d\n%s", code, out)
	}

	// The text form says the same, and why.
	cmd := exec.Command(bin, append([]string{"status"}, args...)...)
	cmd.Env = append(os.Environ(), "SLUICE_CONFIG=")
	text, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailed {
		t.Fatalf("text status: %v\n%s", err, text)
	}
	for _, want := range []string{"UNHEALTHY", "git  " + bare + "#:dags", "at " + st.Sources[0].Commit.Short + " break etl", "1 active, 1 invalid", "Problems", "- 1 DAG(s) invalid: etl"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("text status lacks %q:\n%s", want, text)
		}
	}
}
