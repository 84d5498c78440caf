package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// startGroup starts script in its own process group; the script writes its
// background child's pid to the returned file.
func startGroup(t *testing.T, script string) (leader *exec.Cmd, childPidFile string) {
	t.Helper()
	childPidFile = filepath.Join(t.TempDir(), "child.pid")
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "CHILD_PID_FILE="+childPidFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	return cmd, childPidFile
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	enginetest.Eventually(t, 10*time.Second, func() bool {
		data, err := os.ReadFile(path)
		p, perr := strconv.Atoi(strings.TrimSpace(string(data)))
		pid = p
		return err == nil && perr == nil && pid > 0
	}, "a pid in "+path)
	return pid
}

func alive(t *testing.T, pid int) bool {
	t.Helper()
	_, ok, err := processStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func waitGone(t *testing.T, what string, pid int) {
	t.Helper()
	enginetest.Eventually(t, 10*time.Second, func() bool { return !alive(t, pid) },
		fmt.Sprintf("%s (pid %d) to exit", what, pid))
}

func TestStopOrphan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		script string
		grace  time.Duration
	}{
		{"leaves on SIGTERM", `sleep 300 & echo $! > "$CHILD_PID_FILE"; wait`, 10 * time.Second},
		{"ignores SIGTERM", `trap "" TERM; sleep 300 & echo $! > "$CHILD_PID_FILE"; wait; wait`, 200 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			leader, pidFile := startGroup(t, tc.script)
			child := readPid(t, pidFile)
			pgid := leader.Process.Pid
			ticks, ok, err := processStart(pgid)
			if err != nil || !ok {
				t.Fatalf("processStart(%d) = %d, %v, %v", pgid, ticks, ok, err)
			}
			got, err := stopOrphan(store.TaskProcess{RunID: 1, Task: "t", Attempt: 1, PGID: pgid, StartTicks: ticks}, tc.grace)
			if err != nil || got != orphanStopped {
				t.Fatalf("stopOrphan = %q, %v; want stopped", got, err)
			}
			waitGone(t, "leader", pgid)
			waitGone(t, "grandchild", child)
		})
	}
}

func TestStopOrphanSparesARecycledPid(t *testing.T) {
	t.Parallel()
	self := os.Getpid()
	ticks, ok, err := processStart(self)
	if err != nil || !ok {
		t.Fatalf("processStart(self) = %d, %v, %v", ticks, ok, err)
	}
	// The pid is alive but started at another time: someone else's now.
	got, err := stopOrphan(store.TaskProcess{PGID: self, StartTicks: ticks + 1}, time.Second)
	if err != nil || got != orphanReused {
		t.Fatalf("stopOrphan = %q, %v; want %q", got, err, orphanReused)
	}
	if !alive(t, self) {
		t.Fatal("the test process was signalled")
	}
}

func TestStopOrphanGone(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	got, err := stopOrphan(store.TaskProcess{PGID: cmd.Process.Pid, StartTicks: 1}, time.Second)
	if err != nil || got != orphanGone {
		t.Fatalf("stopOrphan = %q, %v; want gone", got, err)
	}
	if _, err := stopOrphan(store.TaskProcess{PGID: 1}, time.Second); err == nil {
		t.Fatal("stopOrphan of process group 1 did not refuse")
	}
}

// A local task's process group is in the store while it runs, and gone
// once the attempt ends.
func TestLocalTaskProcessRecordedWhileRunning(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	pidFile := filepath.Join(t.TempDir(), "task.pid")
	h.dags.add(t, "rec", shellDAG(map[string]string{
		"hold": `echo $$ > ` + pidFile + `; sleep 300`,
		"done": `true`,
	}, nil, ""))
	h.start()
	id := h.enqueue("rec", "")
	pid := readPid(t, pidFile)
	var procs []store.TaskProcess
	h.waitFor("the task's process group to be recorded", func() bool {
		var err error
		procs, err = h.st.RunningProcesses(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if p.Task == "hold" {
				return true
			}
		}
		return false
	})
	for _, p := range procs {
		if p.Task != "hold" {
			continue
		}
		ticks, _, _ := processStart(pid)
		if p.RunID != id || p.PGID != pid || p.StartTicks != ticks || p.Attempt != 1 {
			t.Fatalf("recorded %+v, want run %d pgid %d start %d", p, id, pid, ticks)
		}
	}
	if err := h.r.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	h.waitRun(id)
	// Both attempts ended (one done, one cancelled): nothing to stop later.
	if ps, err := h.st.RunProcesses(context.Background(), id); err != nil || len(ps) != 0 {
		t.Fatalf("process rows after the run: %+v, %v; want none", ps, err)
	}
	waitGone(t, "the cancelled task", pid)
}
