package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestPinSurvivesEditAndRestartOnTheBinary: a DAG edited twice has three
// versions; pinned to the first, `sluice run` keeps running it through an
// edit and a restart, and the file's version again after unpin. Each run
// records the version it ran.
func TestPinSurvivesEditAndRestartOnTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, work := t.TempDir(), t.TempDir(), t.TempDir()
	side := filepath.Join(work, "side")
	body := func(task string) string {
		return fmt.Sprintf(`{"nodes": [{"id": %q, "type": "local", "config": {"command": "echo %s >> %s"}}]}`, task, task, side)
	}
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	enginetest.WriteDAG(t, dags, "etl", body("first"))

	start := func() (stop func(), logPath string) {
		logPath = filepath.Join(t.TempDir(), "engine.log")
		cmd := startBinary(t, bin, vars, logPath, "run")
		stopped := false
		stop = func() {
			if !stopped {
				stopped = true
				_ = cmd.Process.Signal(os.Interrupt)
				_ = cmd.Wait()
			}
		}
		t.Cleanup(stop)
		waitLog(t, logPath, "engine started", 0)
		return stop, logPath
	}
	seen := 0
	// trigger runs etl and returns what ran and the version it recorded.
	trigger := func() (string, int) {
		t.Helper()
		if code, _, errOut := sluiceCLI(t, bin, vars, "trigger", "etl", "--wait"); code != exitOK {
			t.Fatalf("trigger: exit %d %s", code, errOut)
		}
		runs := listRuns(t, vars)
		if runs[0].State != api.RunSuccess {
			t.Fatalf("run %+v", runs[0])
		}
		return sideLines(t, side, &seen), runs[0].DAGVersion
	}

	stop, logPath := start()
	if got, v := trigger(); got != "first" || v != 1 {
		t.Fatalf("v1 run: %q at v%d", got, v)
	}
	enginetest.WriteDAG(t, dags, "etl", body("second"))
	waitLog(t, logPath, "dag version", 0)
	if got, v := trigger(); got != "second" || v != 2 {
		t.Fatalf("v2 run: %q at v%d", got, v)
	}
	if code, out, errOut := sluiceCLI(t, bin, vars, "dags", "pin", "etl", "1"); code != exitOK || out != "pinned etl to v1\n" {
		t.Fatalf("pin: %d %q %s", code, out, errOut)
	}
	waitLog(t, logPath, "dag pinned", 0)
	if got, v := trigger(); got != "first" || v != 1 {
		t.Fatalf("pinned run: %q at v%d", got, v)
	}
	// An edit while pinned is a new version, not what runs.
	enginetest.WriteDAG(t, dags, "etl", body("third"))
	waitLog(t, logPath, "dag version", 1)
	if got, v := trigger(); got != "first" || v != 1 {
		t.Fatalf("pinned run after an edit: %q at v%d", got, v)
	}
	stop()

	_, logPath = start()
	if got, v := trigger(); got != "first" || v != 1 {
		t.Fatalf("pinned run after a restart: %q at v%d", got, v)
	}
	code, out, errOut := sluiceCLI(t, bin, vars, "dags", "versions", "etl", "--json")
	var vs []api.DAGVersion
	if err := json.Unmarshal([]byte(out), &vs); code != exitOK || err != nil {
		t.Fatalf("versions: %d %q %s %v", code, out, errOut, err)
	}
	if len(vs) != 3 || vs[0].Version != 3 || !vs[0].Current || !vs[2].Pinned || vs[2].Version != 1 || len(vs[0].SHA256) != 64 {
		t.Fatalf("versions = %+v", vs)
	}
	code, out, _ = sluiceCLI(t, bin, vars, "dags", "versions", "etl")
	if code != exitOK || !strings.Contains(out, "v3 file") || !strings.Contains(out, "v1 pinned") {
		t.Fatalf("versions text:\n%s", out)
	}
	code, out, _ = sluiceCLI(t, bin, vars, "dags", "diff", "etl", "1", "3")
	if code != exitOK || !strings.Contains(out, "v1") || !strings.Contains(out, `+{"nodes": [{"id": "third"`) ||
		!strings.Contains(out, `-{"nodes": [{"id": "first"`) {
		t.Fatalf("diff:\n%s", out)
	}
	if code, _, errOut := sluiceCLI(t, bin, vars, "dags", "pin", "etl", "7"); code != exitUsage {
		t.Fatalf("pinning a version never stored: exit %d %s", code, errOut)
	}
	if code, _, errOut := sluiceCLI(t, bin, vars, "dags", "unpin", "etl"); code != exitOK {
		t.Fatalf("unpin: %d %s", code, errOut)
	}
	waitLog(t, logPath, "dag unpinned", 0)
	if got, v := trigger(); got != "third" || v != 3 {
		t.Fatalf("unpinned run: %q at v%d", got, v)
	}
}
