package sshserve_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/tui"
	"github.com/sluice-dev/sluice/views/keys"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// viewerPlace is where in the console a viewer presses action keys: how
// to get there from any pane, and the action keys that apply there.
type viewerPlace struct {
	name    string
	reach   func(t *testing.T, c *sshtest.Console)
	actions []tui.Action
}

// A viewer presses every action key of the console, each where it applies
// (the console's own list of action keys, tui.Actions, says which must be
// pressed), and each is refused at once with access's reason — no
// confirmation, no form — and nothing reaches the engine.
func TestViewerIsRefusedEveryActionKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	snap := viewtest.Loaded()
	snap.Runs.Finished = append(snap.Runs.Finished,
		api.Run{ID: 8, DAG: "demo/events", State: api.RunFailed, Trigger: "sensor", Batch: "events/0/100-199",
			QueuedAt: viewtest.Now.Add(-time.Minute), FinishedAt: viewtest.Now.Add(-50 * time.Second), Done: 1, Total: 1})
	snap.Runs.Queued = append(snap.Runs.Queued,
		api.Run{ID: 16, DAG: "reports/hourly", State: api.RunQueued, Trigger: "backfill", QueuedAt: viewtest.Now})
	f.eng.mu.Lock()
	f.eng.snap = snap
	f.eng.versions = []api.DAGVersion{
		{DAG: "reports/hourly", Version: 2, SHA256: "feedfacecafe0002", Current: true},
		{DAG: "reports/hourly", Version: 1, SHA256: "feedfacecafe0001"},
	}
	f.eng.backfills = []api.Backfill{{ID: 3, DAG: "reports/hourly", State: api.BackfillRunning, Total: 48, Queued: 1, Pending: 47}}
	f.eng.mu.Unlock()

	c := sshtest.Open(t, f.addr, "victor", f.viewer, 160, 45, nil)
	c.Screen.WaitFor(t, 0, wait, "demo/fanout", "victor (victor@wall) · viewer")

	// In an order that needs no esc to leave a place (an esc and the next
	// key read together are one alt+key).
	places := []viewerPlace{
		{"the DAG tree", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "1")
			typeAndWait(t, c, "G", "›")
		}, []tui.Action{tui.ActionTrigger, tui.ActionTriggerConfig, tui.ActionBackfill, tui.ActionPauseDAG}},
		{"a DAG's versions", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "1")
			typeAndWait(t, c, "v", "feedfacecafe")
		}, []tui.Action{tui.ActionPinDAG, tui.ActionUnpinDAG}},
		{"a backfill's row in the run queue", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "2")
			typeAndWait(t, c, "g", "bf#3")
		}, []tui.Action{tui.ActionCancelBackfill}},
		// The last row: a failed sensor run, on which R replays the
		// stored batch and C clears from failed.
		{"a failed sensor batch run", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "2")
			typeAndWait(t, c, "G", "›")
		}, []tui.Action{tui.ActionRerun, tui.ActionClear, tui.ActionMark, tui.ActionCancel}},
		{"the Kafka pane", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "3")
		}, []tui.Action{tui.ActionPauseSensor, tui.ActionResetOffsets}},
		{"the review list", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "4")
		}, []tui.Action{tui.ActionApprove, tui.ActionReject, tui.ActionRunMeta, tui.ActionUndo}},
		{"an open deprecation item", func(t *testing.T, c *sshtest.Console) {
			refocus(t, c, "4")
			typeAndWait(t, c, "enter", "models/old.sql")
		}, []tui.Action{tui.ActionTakeOut, tui.ActionUndo, tui.ActionApprove, tui.ActionReject}},
	}

	refused := sshserve.RefusedKeys(access.Viewer)
	km := keys.Default()
	pressed := map[tui.Action]bool{}
	for _, p := range places {
		p.reach(t, c)
		for _, a := range p.actions {
			b := a.Binding(km)
			reason := refused[a]
			if reason == "" {
				t.Fatalf("the %s key (%s) is not refused to viewers", b.Help().Desc, b.Help().Key)
			}
			mark := c.Screen.Mark()
			typeKey(t, c, b.Keys()[0])
			if err := c.Screen.Await(mark, wait, reason); err != nil {
				t.Fatalf("in %s, %s (%s) was not refused with %q: %v\n%s", p.name, b.Help().Key, b.Help().Desc, reason, err, c.Screen.Text(mark))
			}
			if text := c.Screen.Text(mark); strings.Contains(text, "n/esc no") || strings.Contains(text, "ctrl+s") {
				t.Fatalf("in %s, %s opened a dialog or form before the refusal:\n%s", p.name, b.Help().Key, text)
			}
			pressed[a] = true
			// The next refusal must show afresh: a rescan (allowed)
			// replaces the toast.
			typeAndWait(t, c, "r", "scanned 1 source")
		}
	}
	for _, a := range tui.Actions() {
		if !pressed[a] {
			b := a.Binding(km)
			t.Errorf("no place of this test presses the %s key (%s): add one", b.Help().Desc, b.Help().Key)
		}
	}
	if got := f.eng.actions(); len(got) != 0 {
		t.Fatalf("a viewer's actions reached the engine: %v", got)
	}
}

// refocus focuses pane, by way of the logs pane so the frame changes even
// when pane has the focus already.
func refocus(t *testing.T, c *sshtest.Console, pane string) {
	t.Helper()
	focus(t, c, "5")
	focus(t, c, pane)
}

func typeAndWait(t *testing.T, c *sshtest.Console, k, want string) {
	t.Helper()
	mark := c.Screen.Mark()
	typeKey(t, c, k)
	c.Screen.WaitFor(t, mark, wait, want)
}

// typeKey types one key by its bubbletea name.
func typeKey(t *testing.T, c *sshtest.Console, k string) {
	t.Helper()
	if k == "enter" {
		k = "\r"
	}
	c.Type(t, k)
}
