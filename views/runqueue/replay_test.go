package runqueue

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// callsAPI records which operation R reached.
type callsAPI struct {
	api.NoOperations
	calls []string
}

func (*callsAPI) Snapshot() *api.Snapshot                                         { return nil }
func (*callsAPI) Subscribe() (<-chan api.Event, func())                           { return nil, func() {} }
func (*callsAPI) ScanNow(context.Context) (api.ScanResult, error)                 { return api.ScanResult{}, nil }
func (*callsAPI) Trigger(context.Context, string, json.RawMessage) (int64, error) { return 0, nil }
func (*callsAPI) Cancel(context.Context, int64) error                             { return nil }
func (*callsAPI) RunMeta(context.Context) error                                   { return nil }
func (*callsAPI) Approve(context.Context, int64) error                            { return nil }
func (*callsAPI) Reject(context.Context, int64, string) error                     { return nil }
func (*callsAPI) UndoReject(context.Context, int64) error                         { return nil }
func (*callsAPI) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error {
	return nil
}
func (*callsAPI) PauseSensor(context.Context, string, int, bool) error { return nil }
func (c *callsAPI) Rerun(context.Context, int64, api.RerunOptions) (int64, error) {
	c.calls = append(c.calls, "rerun")
	return 9, nil
}
func (c *callsAPI) ReplayBatch(context.Context, int64, string) (int64, error) {
	c.calls = append(c.calls, "replay")
	return 9, nil
}

// R on a failed batch run replays its stored batch (the prompt says so);
// R on a run without a batch re-runs it.
func TestRReplaysABatchRun(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, batch, prompt, call, toast string
	}{
		{"batch run", "orders/0/100-139", "Replay batch orders/0/100-139 of run #7", "replay", "a replay of #7's batch orders/0/100-139"},
		{"plain run", "", "Re-run run #7", "rerun", "a re-run of #7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			snap := &api.Snapshot{}
			snap.Runs.Finished = []api.Run{{ID: 7, DAG: "orders", State: api.RunFailed, Trigger: "sensor", Batch: tc.batch,
				QueuedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)}}
			m := newPane(t, snap)
			msg, ok := runCmd(press(m, "R")).(common.ActionRequestedMsg)
			if !ok {
				t.Fatalf("R asked for nothing")
			}
			if !strings.Contains(msg.Action.Prompt, tc.prompt) {
				t.Fatalf("prompt %q, want %q", msg.Action.Prompt, tc.prompt)
			}
			fake := &callsAPI{}
			done, err := msg.Action.Do(context.Background(), fake)
			if err != nil || len(fake.calls) != 1 || fake.calls[0] != tc.call || !strings.Contains(done, tc.toast) {
				t.Fatalf("confirmed: %q %v, calls %v", done, err, fake.calls)
			}
		})
	}
}

// A batch run's details spell out its batch and name the tick that
// persisted it; its replay names the same tick, as the original's.
func TestBatchRunDetailNamesItsTick(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	snap := &api.Snapshot{}
	snap.Runs.Finished = []api.Run{
		{ID: 8, DAG: "orders", State: api.RunSuccess, Trigger: "rerun", Batch: "orders/0/100-139", RerunOf: 7,
			QueuedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)},
		{ID: 7, DAG: "orders", State: api.RunFailed, Trigger: "sensor", Batch: "orders/0/100-139",
			QueuedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)},
	}
	snap.Sensors = []api.Sensor{{DAG: "orders", Index: 0, Ticks: []api.Tick{{ID: 41, Start: at, Batches: 1, Messages: 40,
		Ranges: []api.TickRange{{Topic: "orders", Partition: 0, First: 100, Last: 139, Run: 7}}}}}}
	m := newPane(t, snap)
	press(m, "down", "enter")
	view := m.View()
	for _, want := range []string{"orders · partition 0 · offsets 100–139 (40 records)", "tick      #41 of sensor 0"} {
		if !strings.Contains(view, want) {
			t.Errorf("run #7's detail lacks %q:\n%s", want, view)
		}
	}
	press(m, "esc", "up", "enter")
	if view := m.View(); !strings.Contains(view, "#41 of sensor 0") || !strings.Contains(view, "the tick of #7, replayed") {
		t.Errorf("the replay's detail does not name the original's tick:\n%s", view)
	}
}

// A run's detail names the DAG version it ran and the run it re-runs.
func TestRunDetailNamesItsDAGVersion(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	snap := &api.Snapshot{}
	snap.Runs.Finished = []api.Run{
		{ID: 8, DAG: "orders", State: api.RunSuccess, Trigger: "rerun", RerunOf: 7, DAGVersion: 3,
			QueuedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)},
		{ID: 7, DAG: "orders", State: api.RunFailed, Trigger: "manual",
			QueuedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)},
	}
	m := newPane(t, snap)
	press(m, "enter")
	view := m.View()
	for _, want := range []string{"dag version", "v3", "re-run of", "#7"} {
		if !strings.Contains(view, want) {
			t.Errorf("run #8's detail lacks %q:\n%s", want, view)
		}
	}
	// A run recorded before versions existed has none to show.
	press(m, "esc", "down", "enter")
	if view := m.View(); strings.Contains(view, "dag version") {
		t.Errorf("run #7's detail names a version it never recorded:\n%s", view)
	}
}
