package review

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func metaRun(state api.RunState, done int) api.Run {
	r := api.Run{ID: 90, DAG: api.MetaDAG, State: state, Trigger: "manual", QueuedAt: viewtest.Now.Add(-time.Minute),
		StartedAt: viewtest.Now.Add(-50 * time.Second), Done: done, Total: 7}
	for i, id := range []string{"read_bi", "stale_reports", "link_sql", "graph", "candidates", "centrality", "stage_reviews"} {
		st := api.TaskPending
		switch {
		case i < done:
			st = api.TaskSuccess
		case i == done && state == api.RunRunning:
			st = api.TaskRunning
		}
		r.Tasks = append(r.Tasks, api.Task{ID: id, State: st})
	}
	return r
}

// m's run shows its step in the header while it runs; when it finishes, a
// toast says what it changed and the header keeps it.
func TestMetapipelineProgressAndOutcome(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Runs.Running = append(snap.Runs.Running, metaRun(api.RunRunning, 2))
	m := newPane(t, snap, true, 120, 30)
	if head := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(head, "metapipeline step 3/7 link_sql") {
		t.Errorf("no progress in the header: %q", head)
	}

	done := viewtest.Reviews()
	run := metaRun(api.RunSuccess, 7)
	run.FinishedAt = viewtest.Now.Add(-time.Second)
	done.Runs.Finished = append([]api.Run{run}, done.Runs.Finished...)
	// #7 is new in this run; #6 and #5 were restaged by it.
	done.Reviews[0].CreatedAt, done.Reviews[0].UpdatedAt = run.StartedAt.Add(time.Second), run.FinishedAt
	done.Reviews[1].UpdatedAt = run.FinishedAt
	done.Reviews[2].UpdatedAt = run.FinishedAt
	cmd := m.Update(common.SnapshotUpdatedMsg{Snap: done, Topics: common.AllTopics})
	if cmd == nil {
		t.Fatal("no toast when the metapipeline finished")
	}
	toast, ok := cmd().(common.ToastRequestedMsg)
	if !ok || toast.Text != "metapipeline finished: 2 items updated, 1 new" || toast.Error {
		t.Errorf("toast %+v", toast)
	}
	if head := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(head, "metapipeline 1s ago: finished: 2 items updated, 1 new") {
		t.Errorf("the header does not keep the outcome: %q", head)
	}
	// The next snapshot tells nothing twice.
	if cmd := m.Update(common.SnapshotUpdatedMsg{Snap: done, Topics: common.AllTopics}); cmd != nil {
		if msg, ok := cmd().(common.ToastRequestedMsg); ok {
			t.Errorf("the outcome is told again: %+v", msg)
		}
	}
}

// A failed run says why, as an error toast.
func TestMetapipelineFailureToast(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Runs.Queued = append(snap.Runs.Queued, metaRun(api.RunQueued, 0))
	m := newPane(t, snap, true, 120, 30)
	if head := strings.SplitN(m.View(), "\n", 2)[0]; !strings.Contains(head, "metapipeline queued") {
		t.Errorf("no queued state in the header: %q", head)
	}
	failed := viewtest.Reviews()
	run := metaRun(api.RunFailed, 0)
	run.Tasks[0].State, run.Tasks[0].Error = api.TaskFailed, "Mode API: 401 Unauthorized"
	run.FinishedAt = viewtest.Now
	failed.Runs.Finished = append([]api.Run{run}, failed.Runs.Finished...)
	cmd := m.Update(common.SnapshotUpdatedMsg{Snap: failed, Topics: common.AllTopics})
	if cmd == nil {
		t.Fatal("no toast when the metapipeline failed")
	}
	if toast := cmd().(common.ToastRequestedMsg); !toast.Error || toast.Text != "metapipeline failed: read_bi: Mode API: 401 Unauthorized" {
		t.Errorf("toast %+v", toast)
	}
}

// With no manifest configured the empty pane says how to configure one,
// not "press m".
func TestEmptyPaneSaysHowToConfigure(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Empty(), true, 80, 24)
	screen := m.View()
	if !strings.Contains(screen, "--manifest PATH (or DBT_MANIFEST=PATH)") || strings.Contains(screen, "press m") {
		t.Errorf("the empty pane without a manifest:\n%s", screen)
	}
	snap := viewtest.Empty()
	snap.MetaEnabled = true
	if screen := newPane(t, snap, true, 80, 24).View(); !strings.Contains(screen, "press m") {
		t.Errorf("the empty pane with a manifest:\n%s", screen)
	}
}
