package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
)

// runLocal runs a local task: its command in its own process group, with
// stdout and stderr going straight to the attempt's log file. When ctx ends
// (timeout, cancellation, shutdown) the whole group gets SIGTERM, then
// SIGKILL after the grace period, so no grandchild outlives the task.
func runLocal(ctx context.Context, t *TaskRun) error {
	lt, ok := t.Node.Task.(*dag.LocalTask)
	if !ok || len(lt.Argv) == 0 {
		return fmt.Errorf("local task %q: %w", t.Node.ID, errNoTask)
	}
	env, err := t.Env()
	if err != nil {
		return err
	}
	log, err := t.Log()
	if err != nil {
		return err
	}
	cmd := exec.Command(lt.Argv[0], lt.Argv[1:]...)
	cmd.Dir = lt.Dir
	cmd.Env = append(os.Environ(), env...)
	keys := make([]string, 0, len(lt.Env))
	for k := range lt.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+lt.Env[k])
	}
	// An *os.File is handed to the child as is: no copying goroutine that
	// a grandchild holding the pipe open could keep waiting.
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", lt.Argv[0], err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := t.RecordProcess(pgid); err != nil {
		// A group the store does not know of could outlive a crash unseen.
		killGroup(pgid, exited, t.KillGrace)
		return err
	}

	select {
	case err := <-exited:
		if err != nil {
			return exitError(err)
		}
		return nil
	case <-ctx.Done():
	}
	killGroup(pgid, exited, t.KillGrace)
	return context.Cause(ctx)
}

// killGroup sends SIGTERM to a process group, then SIGKILL if its leader
// has not exited after grace, and waits for the leader. Members that ignore
// SIGTERM get the SIGKILL too.
func killGroup(pgid int, exited <-chan error, grace time.Duration) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		// The leader is gone; stragglers in its group are not spared.
		syscall.Kill(-pgid, syscall.SIGKILL)
	case <-timer.C:
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}

func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return fmt.Errorf("killed by signal %s", st.Signal())
		}
		return fmt.Errorf("exit status %d", ee.ExitCode())
	}
	return err
}
