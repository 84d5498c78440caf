package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// TestBackfillOnTheBinary: 48 hourly fire times, 10 of them already
// succeeded and one failed: the dry run lists the 38 to run (the failed
// hour among them) and the 10 it skips; the backfill queues exactly those
// 38, each with its fire time as scheduled_for and logical_time, and
// finishes. A second backfill, one run at a time, is cancelled whole.
func TestBackfillOnTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, work := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hourly", `{"schedule": "0 * * * *", "nodes": [
		{"id": "load", "type": "local", "config": {"command": "echo loaded >> `+filepath.Join(work, "side")+`"}}]}`)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	startEngineBinary(t, bin, vars)

	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(47 * time.Hour)
	st := openStore(t, state)
	ctx := context.Background()
	for h := range 11 {
		id, err := st.CreateRun(ctx, store.NewRun{DAG: "hourly", Trigger: store.TriggerSchedule, ScheduledFor: from.Add(time.Duration(h) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		state := api.RunSuccess
		if h == 10 {
			state = api.RunFailed
		}
		if err := st.FinishRun(ctx, id, state, "", time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	span := []string{"backfill", "hourly", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--json"}

	code, out, errOut := sluiceCLI(t, bin, vars, append(span, "--dry-run")...)
	var dry api.BackfillPlan
	if err := json.Unmarshal([]byte(out), &dry); code != exitOK || err != nil {
		t.Fatalf("dry run: %d %s %s %v", code, out, errOut, err)
	}
	if len(dry.Fires) != 38 || len(dry.Skipped) != 10 || !dry.Fires[0].Equal(from.Add(10*time.Hour)) ||
		dry.Skipped[0].Reason != "succeeded in #1" || dry.Backfill.ID != 0 {
		t.Fatalf("dry run: %d fires from %v, skipped %+v", len(dry.Fires), dry.Fires[0], dry.Skipped)
	}
	if runs := listRuns(t, vars); len(runs) != 11 {
		t.Fatalf("the dry run queued runs: %d", len(runs))
	}

	code, out, errOut = sluiceCLI(t, bin, vars, span...)
	var plan api.BackfillPlan
	if err := json.Unmarshal([]byte(out), &plan); code != exitOK || err != nil {
		t.Fatalf("backfill: %d %s %s %v", code, out, errOut, err)
	}
	if plan.Backfill.ID == 0 || plan.Backfill.Total != 38 || !slices.EqualFunc(plan.Fires, dry.Fires, time.Time.Equal) {
		t.Fatalf("backfill = %+v", plan.Backfill)
	}
	var b api.Backfill
	enginetest.Eventually(t, 60*time.Second, func() bool {
		_, out, _ := sluiceCLI(t, bin, vars, "backfills", "list", "--json")
		var bs []api.Backfill
		if json.Unmarshal([]byte(out), &bs) != nil || len(bs) != 1 {
			return false
		}
		b = bs[0]
		return b.State != api.BackfillRunning
	}, "the backfill to finish")
	if b.State != api.BackfillDone || b.Succeeded != 38 || b.Failed != 0 {
		t.Fatalf("finished backfill = %+v", b)
	}
	var got []time.Time
	for _, r := range listRuns(t, vars) {
		if r.Backfill != plan.Backfill.ID {
			continue
		}
		var cfg map[string]string
		if err := json.Unmarshal(r.Config, &cfg); err != nil || r.ScheduledFor == nil ||
			cfg[api.LogicalTimeKey] != r.ScheduledFor.Format(time.RFC3339) || r.Trigger != store.TriggerBackfill || r.DAGVersion != 1 {
			t.Fatalf("backfill run %+v (config %s)", r, r.Config)
		}
		got = append(got, *r.ScheduledFor)
	}
	slices.SortFunc(got, time.Time.Compare)
	if !slices.EqualFunc(got, dry.Fires, time.Time.Equal) {
		t.Fatalf("runs answer %d fire times, not the dry run's 38", len(got))
	}

	// One at a time, all 48 again, then cancelled whole.
	code, out, errOut = sluiceCLI(t, bin, vars, append(span, "--reprocess", "all", "--max-active", "1")...)
	var second api.BackfillPlan
	if err := json.Unmarshal([]byte(out), &second); code != exitOK || err != nil || second.Backfill.Total != 48 ||
		second.Backfill.Queued != 1 || second.Backfill.Pending != 47 {
		t.Fatalf("second backfill: %d %s %s %v", code, out, errOut, err)
	}
	if code, _, errOut := sluiceCLI(t, bin, vars, "backfills", "cancel", fmt.Sprint(second.Backfill.ID)); code != exitOK {
		t.Fatalf("cancel: %d %s", code, errOut)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool {
		_, out, _ := sluiceCLI(t, bin, vars, "backfills", "list", "--json")
		var bs []api.Backfill
		if json.Unmarshal([]byte(out), &bs) != nil || len(bs) != 2 {
			return false
		}
		b = bs[0]
		return b.Queued+b.Running == 0
	}, "the cancelled backfill to settle")
	if b.State != api.BackfillCancelled || b.Pending != 0 || b.Succeeded+b.Cancelled+b.Failed > 2 {
		t.Fatalf("cancelled backfill = %+v", b)
	}
	code, out, _ = sluiceCLI(t, bin, vars, "audit", "--json")
	if code != exitOK || !json.Valid([]byte(out)) || !containsAll(out, `"backfill"`, `"cancel backfill"`) {
		t.Fatalf("audit: %s", out)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
