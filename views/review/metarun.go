package review

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// The metapipeline's progress and outcome, read from its runs in the
// snapshot: m queues a run of the built-in DAG; while it is in flight the
// pane's header shows its step; when it ends, a toast says what it changed
// and the header keeps that until the next run.

// metaWatch follows the metapipeline's runs across snapshots.
type metaWatch struct {
	inFlight *api.Run // the newest queued or running run, nil when none
	watching int64    // a run seen in flight whose end is to be told
	outcome  string   // "2 items updated, 1 new", or "failed: …"
	failed   bool
	at       time.Time // when the run the outcome is about finished
}

// observe reads the snapshot. It returns the toast for a run it saw in
// flight that has now finished.
func (w *metaWatch) observe(snap *api.Snapshot) tea.Cmd {
	w.inFlight = nil
	for _, list := range [][]api.Run{snap.Runs.Running, snap.Runs.Queued} {
		for i := range list {
			if r := &list[i]; r.DAG == api.MetaDAG && (w.inFlight == nil || r.ID > w.inFlight.ID) {
				w.inFlight = r
			}
		}
	}
	var done *api.Run
	for i := range snap.Runs.Finished {
		if r := &snap.Runs.Finished[i]; r.DAG == api.MetaDAG {
			done = r // newest first: the first is the latest
			break
		}
	}
	if done != nil && (w.at.IsZero() || done.FinishedAt.After(w.at)) {
		w.outcome, w.failed = metaOutcome(snap, done), done.State != api.RunSuccess
		w.at = done.FinishedAt
	}
	var cmd tea.Cmd
	if w.watching != 0 && done != nil && done.ID == w.watching {
		cmd = common.Toast("metapipeline "+w.outcome, w.failed)
		w.watching = 0
	}
	if w.inFlight != nil {
		w.watching = w.inFlight.ID
	}
	return cmd
}

// metaOutcome says what a finished run changed: the items it created and
// those it updated (restaged, withdrawn), by their times.
func metaOutcome(snap *api.Snapshot, r *api.Run) string {
	switch r.State {
	case api.RunSuccess:
	case api.RunCancelled:
		return "cancelled"
	default:
		return "failed: " + orDash(firstError(r))
	}
	created, updated := 0, 0
	for i := range snap.Reviews {
		it := &snap.Reviews[i]
		switch {
		case !it.CreatedAt.Before(r.StartedAt):
			created++
		case !it.UpdatedAt.Before(r.StartedAt):
			updated++
		}
	}
	if created == 0 && updated == 0 {
		return "finished: no item changed"
	}
	return fmt.Sprintf("finished: %s updated, %d new", common.Plural(updated, "item"), created)
}

// firstError is the run's error, else its first failed task's.
func firstError(r *api.Run) string {
	if r.Error != "" {
		return r.Error
	}
	for _, t := range r.Tasks {
		if t.Error != "" {
			return t.ID + ": " + t.Error
		}
	}
	return ""
}

// progress is the header's account of the metapipeline: its run in
// flight, step n/N, or the latest outcome; "" when neither is known.
func (w *metaWatch) progress(now time.Time) string {
	if r := w.inFlight; r != nil {
		if r.State == api.RunQueued {
			s := "metapipeline queued"
			if r.WaitReason != "" {
				s += " (" + r.WaitReason + ")"
			}
			return s
		}
		step := ""
		for _, t := range r.Tasks {
			if t.State == api.TaskRunning || t.State == api.TaskRetrying {
				step = " " + t.ID
				break
			}
		}
		return fmt.Sprintf("metapipeline step %d/%d%s", min(r.Done+1, r.Total), r.Total, step)
	}
	if w.outcome == "" {
		return ""
	}
	return fmt.Sprintf("metapipeline %s: %s", agoText(now, w.at), w.outcome)
}
