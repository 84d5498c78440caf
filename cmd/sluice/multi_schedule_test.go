package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// TestScheduleOnThreeInstancesFiresOnceThroughAKill: an `@every 1s`
// schedule on three `sluice run` processes sharing one PostgreSQL database
// for about 20 s, one of them killed with SIGKILL half-way. Every instance
// fires every schedule and the store's (DAG, fire time) key lets one run
// in, so there is no leader to hand over: no fire time has two runs and no
// fire between the first and the last is missing, across the kill.
func TestScheduleOnThreeInstancesFiresOnceThroughAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-instance test skipped in -short mode")
	}
	url := pgtest.Database(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	dags := filepath.Join(dir, "dags")
	os.Mkdir(dags, 0o755)
	def, _ := json.Marshal(map[string]any{"schedule": "@every 1s", "nodes": []any{
		map[string]any{"id": "n", "type": "sluice.noop", "config": map[string]any{}},
	}})
	if err := os.WriteFile(filepath.Join(dags, "tick.json"), def, 0o644); err != nil {
		t.Fatal(err)
	}
	var insts []*instanceProc
	for i := range 3 {
		insts = append(insts, startInstance(t, bin, dir, fmt.Sprintf("s%d", i), url, dags, "--lease", "3s"))
	}
	st, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fires := func() map[time.Time]int {
		runs, err := st.ListRuns(context.Background(), store.ListOptions{DAG: "tick"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[time.Time]int{}
		for _, r := range runs {
			if r.Trigger != store.TriggerSchedule || r.ScheduledFor.IsZero() {
				t.Fatalf("run %+v: want only scheduled runs", r)
			}
			out[r.ScheduledFor]++
		}
		return out
	}
	enginetest.Eventually(t, 30*time.Second, func() bool { return len(fires()) >= 10 }, "10 fires on three instances")
	insts[0].cmd.Process.Signal(syscall.SIGKILL)
	<-insts[0].exited
	before := len(fires())
	enginetest.Eventually(t, 30*time.Second, func() bool { return len(fires()) >= before+10 }, "10 more fires on the survivors")

	got := fires()
	times := make([]time.Time, 0, len(got))
	for at, n := range got {
		if n != 1 {
			t.Fatalf("fire %s has %d runs, want 1", at.Format(time.RFC3339Nano), n)
		}
		times = append(times, at)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap != time.Second {
			t.Fatalf("fires %s and %s are %s apart: a fire is missing (or off the schedule's grid)",
				times[i-1].Format(time.RFC3339Nano), times[i].Format(time.RFC3339Nano), gap)
		}
	}
	t.Logf("%d fires, one run each, %d of them after the kill", len(times), len(times)-before)
}
