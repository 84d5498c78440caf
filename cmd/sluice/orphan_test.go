//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// processLive reports whether pid is a live process: present in /proc and
// not a zombie (a reaper that never reaps keeps dead children as zombies).
func processLive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	fields := bytes.Fields(data[i+1:])
	return len(fields) > 0 && string(fields[0]) != "Z" && string(fields[0]) != "X"
}

func readPidFile(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// TestRestartStopsOrphanedTasks kills `sluice run` with SIGKILL while a
// local task (and its own child) runs, checks the task outlived the engine,
// then restarts the engine and expects the whole process group stopped
// before the run is re-queued, so the task never runs twice at once.
func TestRestartStopsOrphanedTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, work := t.TempDir(), t.TempDir(), t.TempDir()
	taskPid, childPid, marker := filepath.Join(work, "task.pid"), filepath.Join(work, "child.pid"), filepath.Join(work, "ran")
	// The first run holds on; its re-run (retry_on_crash) finishes at once.
	task := fmt.Sprintf(`[ -e %[1]s ] && exit 0; touch %[1]s; sleep 300 & echo $! > %[2]s; echo $$ > %[3]s; wait`, marker, childPid, taskPid)
	enginetest.WriteDAG(t, dags, "hold", fmt.Sprintf(`{"retry_on_crash": true, "nodes": [{"id": "work", "type": "local", "config": {"command": %q}}]}`, task))
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	t.Cleanup(func() {
		if pgid := readPidFile(taskPid); pgid > 0 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})

	first := startBinary(t, bin, vars, filepath.Join(work, "stderr1"), "run", "--kill-grace", "1s")
	ctx := context.Background()
	code, out, errOut := runCmd(ctx, vars, "trigger", "hold", "--json")
	var row runRow
	if code != exitOK || json.Unmarshal([]byte(out), &row) != nil {
		t.Fatalf("trigger: %d %q %q", code, out, errOut)
	}
	var pid, child int
	enginetest.Eventually(t, 30*time.Second, func() bool {
		pid, child = readPidFile(taskPid), readPidFile(childPid)
		return pid > 0 && child > 0
	}, "the task and its child to start")

	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	if !processLive(pid) || !processLive(child) {
		t.Fatalf("task %d (live %v) or its child %d (live %v) died with the engine: nothing left to test",
			pid, processLive(pid), child, processLive(child))
	}

	second := startBinary(t, bin, vars, filepath.Join(work, "stderr2"), "run", "--kill-grace", "1s")
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return !processLive(pid) && !processLive(child)
	}, "the orphaned task and its child to be stopped")
	var runs []runRow
	enginetest.Eventually(t, 30*time.Second, func() bool {
		runs = listRuns(t, vars)
		return len(runs) == 2 && runs[0].State != api.RunRunning && runs[0].State != api.RunQueued &&
			runs[1].State != api.RunRunning && runs[1].State != api.RunQueued
	}, "the interrupted run and its re-run to settle")
	byID := map[int64]runRow{}
	var rerun runRow
	for _, r := range runs {
		byID[r.ID] = r
		if r.RetryOf == row.ID {
			rerun = r
		}
	}
	if r := byID[row.ID]; r.State != api.RunFailed || r.Error != store.InterruptedError {
		t.Errorf("interrupted run: %+v", r)
	}
	if rerun.State != api.RunSuccess || rerun.Trigger != store.TriggerRecovery {
		t.Errorf("re-queued run: %+v", rerun)
	}
	logs, _ := os.ReadFile(filepath.Join(work, "stderr2"))
	if !strings.Contains(string(logs), `"msg":"stopped orphaned task"`) || !strings.Contains(string(logs), fmt.Sprintf(`"pgid":%d`, pid)) {
		t.Errorf("stderr of the restarted engine does not report stopping pgid %d:\n%s", pid, logs)
	}

	st, err := store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity %q %v", res, err)
	}
	if ps, err := st.RunProcesses(ctx, row.ID); err != nil || len(ps) != 0 {
		t.Fatalf("process rows of the interrupted run: %+v, %v; want none", ps, err)
	}
}
