package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// sluiceCLI runs the real binary on a state dir and returns its exit code
// and output.
func sluiceCLI(t *testing.T, bin string, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "SLUICE_STATE_DIR="+vars["SLUICE_STATE_DIR"], "DAGS_DIR="+vars["DAGS_DIR"])
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// startEngineBinary runs `sluice run` until the test ends and waits until
// it has started.
func startEngineBinary(t *testing.T, bin string, vars map[string]string) (logPath string) {
	t.Helper()
	logPath = filepath.Join(t.TempDir(), "engine.log")
	cmd := startBinary(t, bin, vars, logPath, "run")
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	waitLog(t, logPath, "engine started", 0)
	return logPath
}

// waitLog waits until the engine's log holds text at least n+1 times.
func waitLog(t *testing.T, path, text string, n int) {
	t.Helper()
	enginetest.Eventually(t, 20*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		return strings.Count(string(b), text) > n
	}, "the engine to log "+text)
}

func runByID(t *testing.T, vars map[string]string, id int64) runRow {
	t.Helper()
	for _, r := range listRuns(t, vars) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no run %d", id)
	return runRow{}
}

func waitFinished(t *testing.T, vars map[string]string, id int64) runRow {
	t.Helper()
	var r runRow
	enginetest.Eventually(t, 30*time.Second, func() bool {
		r = runByID(t, vars, id)
		return r.State.Finished()
	}, "the run to finish")
	return r
}

func sideLines(t *testing.T, path string, seen *int) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	lines := strings.Fields(string(b))
	out := strings.Join(lines[*seen:], " ")
	*seen = len(lines)
	return out
}

// TestRerunAndClearFromFailedOnTheBinary: a run fails at its second task;
// clearing it from failed runs exactly that task and the one after it; a
// re-run runs all three; every action is in the audit log.
func TestRerunAndClearFromFailedOnTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, work := t.TempDir(), t.TempDir(), t.TempDir()
	side, gate := filepath.Join(work, "side"), filepath.Join(work, "gate")
	enginetest.WriteDAG(t, dags, "etl", `{"nodes": [
		{"id": "extract", "type": "local", "config": {"command": "echo extract >> `+side+`"}},
		{"id": "load", "type": "local", "config": {"command": "echo load >> `+side+` && test -f `+gate+`"}, "depends_on": ["extract"]},
		{"id": "report", "type": "local", "config": {"command": "echo report >> `+side+`"}, "depends_on": ["load"]}]}`)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	startEngineBinary(t, bin, vars)
	seen := 0

	if code, _, errOut := sluiceCLI(t, bin, vars, "trigger", "etl", "--wait"); code != exitFailed {
		t.Fatalf("first run: exit %d %s", code, errOut)
	}
	if got := sideLines(t, side, &seen); got != "extract load" {
		t.Fatalf("first run ran %q", got)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := sluiceCLI(t, bin, vars, "runs", "rerun", "1", "--from-failed", "--reason", "gate fixed", "--json")
	if code != exitOK {
		t.Fatalf("rerun --from-failed: %d %s", code, errOut)
	}
	var cleared runRow
	if err := json.Unmarshal([]byte(out), &cleared); err != nil || cleared.RerunOf != 1 {
		t.Fatalf("rerun output %q: %v", out, err)
	}
	if r := waitFinished(t, vars, cleared.ID); r.State != api.RunSuccess || r.Trigger != store.TriggerRerun {
		t.Fatalf("cleared run = %+v", r)
	}
	if got := sideLines(t, side, &seen); got != "load report" {
		t.Fatalf("clear from failed ran %q, want load report", got)
	}
	st := openStore(t, state)
	tasks, err := st.Tasks(context.Background(), cleared.ID)
	if err != nil || len(tasks[cleared.ID]) != 3 || tasks[cleared.ID][0].Task != "extract" ||
		tasks[cleared.ID][0].State != api.TaskSkipped || tasks[cleared.ID][0].Error != "succeeded in #1" {
		t.Fatalf("cleared run's tasks = %+v, %v", tasks[cleared.ID], err)
	}

	code, out, errOut = sluiceCLI(t, bin, vars, "runs", "rerun", "2")
	if code != exitOK || !strings.Contains(out, "queued run 3, a re-run of run 2") {
		t.Fatalf("rerun: %d %q %s", code, out, errOut)
	}
	if r := waitFinished(t, vars, 3); r.State != api.RunSuccess {
		t.Fatalf("re-run = %+v", r)
	}
	if got := sideLines(t, side, &seen); got != "extract load report" {
		t.Fatalf("re-run ran %q", got)
	}

	if code, _, errOut := sluiceCLI(t, bin, vars, "runs", "mark", "1", "success"); code != exitUsage || !strings.Contains(errOut, "--reason is required") {
		t.Fatalf("mark without a reason: %d %s", code, errOut)
	}
	if code, _, errOut := sluiceCLI(t, bin, vars, "runs", "mark", "1", "success", "--reason", "loaded by hand"); code != exitOK {
		t.Fatalf("mark: %d %s", code, errOut)
	}
	if r := runByID(t, vars, 1); r.State != api.RunSuccess || !strings.Contains(r.Error, "loaded by hand") {
		t.Fatalf("marked run = %+v", r)
	}

	code, out, errOut = sluiceCLI(t, bin, vars, "audit", "--json")
	if code != exitOK {
		t.Fatalf("audit: %d %s", code, errOut)
	}
	var entries []api.AuditEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.Actor == "" {
			t.Errorf("entry without an actor: %+v", e)
		}
		actions = append(actions, e.Action+" "+e.Target)
	}
	if got := strings.Join(actions, ", "); got != "mark success run 1, rerun run 2, clear-from-failed run 1, trigger dag etl" {
		t.Fatalf("audit log: %s", got)
	}
}

// TestPausedScheduleDoesNotFireOnTheBinary: an @every 1s schedule paused
// from the command line does not fire for 5 s, and fires again once
// unpaused.
func TestPausedScheduleDoesNotFireOnTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state := t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "tick", `{"schedule": "@every 1s", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	logPath := startEngineBinary(t, bin, vars)
	scheduled := func() int {
		n := 0
		for _, r := range listRuns(t, vars) {
			if r.Trigger == store.TriggerSchedule {
				n++
			}
		}
		return n
	}
	enginetest.Eventually(t, 20*time.Second, func() bool { return scheduled() > 0 }, "the schedule to fire")

	if code, out, errOut := sluiceCLI(t, bin, vars, "dags", "pause", "tick", "--reason", "upstream down"); code != exitOK || out != "paused tick\n" {
		t.Fatalf("pause: %d %q %s", code, out, errOut)
	}
	waitLog(t, logPath, `"dags":"tick","count":1`, 0) // the engine saw the pause
	before := scheduled()
	<-time.After(5 * time.Second) // the window in which nothing may fire
	if after := scheduled(); after != before {
		t.Fatalf("a paused schedule fired %d runs", after-before)
	}
	// A manual trigger of a paused DAG still runs.
	if code, _, errOut := sluiceCLI(t, bin, vars, "trigger", "tick", "--wait"); code != exitOK {
		t.Fatalf("manual trigger while paused: %d %s", code, errOut)
	}
	if code, _, errOut := sluiceCLI(t, bin, vars, "dags", "unpause", "tick"); code != exitOK {
		t.Fatalf("unpause: %d %s", code, errOut)
	}
	enginetest.Eventually(t, 20*time.Second, func() bool { return scheduled() > before }, "the schedule to fire again")
}
