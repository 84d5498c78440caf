package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// operateSetup is a state dir, a DAG folder holding "known", and the
// environment naming both.
func operateSetup(t *testing.T) (vars map[string]string, state string) {
	t.Helper()
	dags, state := t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "known", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	return map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}, state
}

// A DAG name nothing knows is refused with exit status 2 and nothing is
// queued or paused; a DAG only the folder holds is accepted.
func TestUnknownDAGRefused(t *testing.T) {
	t.Parallel()
	vars, _ := operateSetup(t)
	ctx := context.Background()
	for _, args := range [][]string{{"trigger", "nosuch"}, {"dags", "pause", "nosuch"}, {"dags", "unpause", "nosuch"}} {
		code, out, errOut := runCmd(ctx, vars, args...)
		if code != exitUsage || !strings.Contains(errOut, `no DAG named "nosuch"`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and no DAG named", args, code, out, errOut)
		}
	}
	if _, out, _ := runCmd(ctx, vars, "runs", "list"); strings.Contains(out, "nosuch") {
		t.Errorf("a run of an unknown DAG was queued:\n%s", out)
	}
	if code, out, errOut := runCmd(ctx, vars, "trigger", "known"); code != exitOK || !strings.Contains(out, "queued run 1 of known") {
		t.Errorf("trigger known: exit %d %q %q", code, out, errOut)
	}
	// Once the store has a run of it, the folder is no longer needed.
	delete(vars, "DAGS_DIR")
	if code, out, errOut := runCmd(ctx, vars, "dags", "pause", "known", "--dags-dir", t.TempDir()); code != exitOK || out != "paused known\n" {
		t.Errorf("pause known: exit %d %q %q", code, out, errOut)
	}
}

// Pausing a paused DAG or marking a run in the state it has says so, as the
// audit log does, instead of claiming the change.
func TestUnchangedActionsSayAlready(t *testing.T) {
	t.Parallel()
	vars, state := operateSetup(t)
	ctx := context.Background()
	st := openStore(t, state)
	id, err := st.CreateRun(ctx, store.NewRun{DAG: "known"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, api.RunFailed, "boom", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"dags", "pause", "known"}, "paused known\n"},
		{[]string{"dags", "pause", "known"}, "known is already paused: nothing changed\n"},
		{[]string{"dags", "unpause", "known"}, "unpaused known\n"},
		{[]string{"dags", "unpause", "known"}, "known is already unpaused: nothing changed\n"},
		{[]string{"runs", "mark", "1", "failed", "--reason", "x"}, "run 1 is already failed: nothing changed\n"},
		{[]string{"runs", "mark", "1", "success", "--reason", "x"}, "marked run 1 success\n"},
	}
	for _, s := range steps {
		code, out, errOut := runCmd(ctx, vars, s.args...)
		if code != exitOK || out != s.want {
			t.Errorf("%v: exit %d, %q (stderr %q); want %q", s.args, code, out, errOut, s.want)
		}
	}
}

// Clearing a run whose re-run is already queued names that run instead of
// claiming a new one, and queues nothing.
func TestRerunAlreadyQueuedNamesTheRun(t *testing.T) {
	t.Parallel()
	vars, state := operateSetup(t)
	ctx := context.Background()
	st := openStore(t, state)
	id, err := st.CreateRun(ctx, store.NewRun{DAG: "known"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, id, api.RunFailed, "boom", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := runCmd(ctx, vars, "runs", "rerun", "1")
	if code != exitOK || out != "queued run 2, a re-run of run 1\n" {
		t.Fatalf("first rerun: exit %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCmd(ctx, vars, "runs", "rerun", "1", "--from-failed")
	if code != exitOK || out != "run 2 already re-runs run 1 (queued): nothing new queued\n" {
		t.Errorf("second rerun: exit %d %q %q", code, out, errOut)
	}
	_, list, _ := runCmd(ctx, vars, "runs", "list")
	if strings.Count(list, "\n") != 3 { // header and two runs
		t.Errorf("runs list:\n%s", list)
	}
}
