package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// chainDAG is extract → load → report; each task appends its name to
// side, and load fails until the file gate exists.
func chainDAG(side, gate string) string {
	task := func(id, cmd string, deps ...string) string {
		d := "[]"
		if len(deps) > 0 {
			d = `["` + strings.Join(deps, `","`) + `"]`
		}
		return fmt.Sprintf(`{"id": %q, "type": "local", "config": {"command": %q}, "depends_on": %s}`, id, cmd, d)
	}
	return `{"nodes": [` + strings.Join([]string{
		task("extract", "echo extract >> "+side),
		task("load", "echo load >> "+side+" && test -f "+gate, "extract"),
		task("report", "echo report >> "+side, "load"),
	}, ",") + `]}`
}

func waitRun(t *testing.T, e *Engine, id int64) api.Run {
	t.Helper()
	var out api.Run
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		for _, r := range s.Runs.Finished {
			if r.ID == id {
				out = r
				return true
			}
		}
		return false
	})
	return out
}

// sideEffects returns the task names appended since the last call.
func sideEffects(t *testing.T, path string, seen *int) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	out := lines[*seen:]
	*seen = len(lines)
	return out
}

func taskStates(r api.Run) string {
	var parts []string
	for _, t := range r.Tasks {
		s := string(t.State)
		if t.Error != "" && t.State == api.TaskSkipped {
			s += " (" + t.Error + ")"
		}
		parts = append(parts, t.ID+"="+s)
	}
	return strings.Join(parts, " ")
}

func TestRerunClearFromFailedAndMarkAreAudited(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	side, gate := filepath.Join(dir, "side"), filepath.Join(dir, "gate")
	e := startEngine(t, Config{}, newFakeSource(t, map[string]string{"etl": chainDAG(side, gate)}))
	ctx := api.WithActor(context.Background(), "olga")
	seen := 0

	first, err := e.Trigger(ctx, "etl", []byte(`{"day":"2024-05-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	r1 := waitRun(t, e, first)
	if r1.State != api.RunFailed || fmt.Sprint(sideEffects(t, side, &seen)) != "[extract load]" {
		t.Fatalf("first run %s: %s", r1.State, taskStates(r1))
	}

	t.Run("refusals", func(t *testing.T) {
		if _, err := e.Rerun(ctx, 999, api.RerunOptions{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("re-running no run: %v", err)
		}
		if err := e.Mark(ctx, first, "", api.RunSuccess, " "); err == nil {
			t.Fatal("a mark without a reason was accepted")
		}
	})

	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cleared, err := e.Rerun(ctx, first, api.RerunOptions{FromFailed: true, Reason: "upstream fixed"})
	if err != nil {
		t.Fatal(err)
	}
	r2 := waitRun(t, e, cleared)
	want := fmt.Sprintf("extract=skipped (succeeded in #%d) load=success report=success", first)
	if r2.State != api.RunSuccess || taskStates(r2) != want || r2.RerunOf != first || r2.Trigger != store.TriggerRerun {
		t.Fatalf("cleared run %s rerun_of %d: %s, want %s", r2.State, r2.RerunOf, taskStates(r2), want)
	}
	if got := fmt.Sprint(sideEffects(t, side, &seen)); got != "[load report]" {
		t.Fatalf("clear from failed ran %s, want load and report only", got)
	}
	stored, err := e.Store().Run(context.Background(), cleared)
	if err != nil || string(stored.Config) != `{"day":"2024-05-01"}` {
		t.Fatalf("re-run config = %s, %v", stored.Config, err)
	}

	// A re-run of the clear: everything runs again.
	again, err := e.Rerun(ctx, cleared, api.RerunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r3 := waitRun(t, e, again); r3.State != api.RunSuccess {
		t.Fatalf("re-run: %s", taskStates(r3))
	}
	if got := fmt.Sprint(sideEffects(t, side, &seen)); got != "[extract load report]" {
		t.Fatalf("re-run ran %s", got)
	}
	if _, err := e.Rerun(ctx, again, api.RerunOptions{FromFailed: true}); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("clearing a run that succeeded: %v", err)
	}

	if err := e.Mark(ctx, first, "", api.RunSuccess, "loaded by hand"); err != nil {
		t.Fatal(err)
	}
	snap := waitSnapshot(t, e, func(s *api.Snapshot) bool {
		for _, r := range s.Runs.Finished {
			if r.ID == first {
				return r.State == api.RunSuccess
			}
		}
		return false
	})
	_ = snap

	log, err := e.AuditLog(context.Background(), api.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range log {
		got = append(got, a.Actor+" "+a.Action+" "+a.Target+" → "+a.Outcome)
	}
	joined := strings.Join(got, "\n")
	for _, w := range []string{
		fmt.Sprintf("olga mark success run %d → ok", first),
		fmt.Sprintf("olga clear-from-failed run %d → ok: run %d", first, cleared),
		fmt.Sprintf("olga rerun run %d → ok: run %d", cleared, again),
		fmt.Sprintf("olga trigger dag etl → ok: run %d", first),
		"olga rerun run 999 → error: ",
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("audit log lacks %q:\n%s", w, joined)
		}
	}
	if log[0].Action != "mark success" || log[0].Reason != "loaded by hand" {
		t.Errorf("newest entry = %+v", log[0])
	}
}

func TestPausedDAGDoesNotFireButTriggers(t *testing.T) {
	t.Parallel()
	clock := newStepClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	src := newFakeSource(t, map[string]string{"tick": `{"schedule": "@every 1m", "nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`})
	dir := t.TempDir()
	e := startEngine(t, Config{StateDir: dir, Clock: clock}, src)
	ctx := api.WithActor(context.Background(), "olga")
	if err := e.PauseDAG(ctx, "tick", true, "bad upstream"); err != nil {
		t.Fatal(err)
	}
	if err := e.PauseDAG(ctx, "tick", true, "again"); err != nil {
		t.Fatal(err)
	}
	snap := e.Snapshot()
	var p *api.DAGPause
	for _, d := range snap.DAGs {
		if d.Name == "tick" {
			p = d.Paused
		}
	}
	if p == nil || p.By != "olga" || p.Reason != "bad upstream" {
		t.Fatalf("pause = %+v", p)
	}
	// Ten minutes pass: nothing fires.
	for range 10 {
		clock.advance(time.Minute)
		e.sched.Tick(context.Background())
	}
	if runs, _ := e.Store().ListRuns(context.Background(), store.ListOptions{}); len(runs) != 0 {
		t.Fatalf("a paused schedule fired %d runs", len(runs))
	}
	// A manual trigger still runs.
	id, err := e.Trigger(ctx, "tick", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, e, id); r.State != api.RunSuccess {
		t.Fatalf("manual run of a paused dag: %s", r.State)
	}
	// A pause outlives the engine.
	e.Stop()
	e2 := startEngine(t, Config{StateDir: dir, Clock: clock}, src)
	if got := e2.pausedDAG("tick"); got == nil || got.By != "olga" {
		t.Fatalf("after restart pause = %+v", got)
	}
	if err := e2.PauseDAG(ctx, "tick", false, ""); err != nil {
		t.Fatal(err)
	}
	// Unpaused, the schedule fires its latest due time (the fires of the
	// pause are past), once.
	scheduled := 0
	enginetest.Poll(10*time.Second, func() bool {
		runs, _ := e2.Store().ListRuns(context.Background(), store.ListOptions{})
		scheduled = 0
		for _, r := range runs {
			if r.Trigger == store.TriggerSchedule {
				scheduled++
			}
		}
		return scheduled > 0
	})
	if scheduled != 1 {
		t.Fatalf("after unpause %d scheduled runs, want 1", scheduled)
	}
	log, _ := e2.AuditLog(context.Background(), api.AuditQuery{})
	if len(log) < 3 || log[0].Action != "unpause" || !strings.HasPrefix(log[len(log)-2].Outcome, "unchanged") {
		t.Fatalf("audit = %+v", log)
	}
}

// stepClock is a clock that moves only when told; its timers never fire
// (the test ticks the scheduler itself).
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStepClock(t time.Time) *stepClock { return &stepClock{now: t} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
