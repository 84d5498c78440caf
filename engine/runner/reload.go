package runner

import (
	"context"
)

// Reload re-reads a finished run from the store into the history the
// snapshot shows, after an operator changed it there (marked it, or one
// of its tasks). A run no longer in the history is left out.
func (r *Runner) Reload(ctx context.Context, id int64) error {
	run, err := r.st.Run(ctx, id)
	if err != nil {
		return err
	}
	tasks, err := r.st.Tasks(ctx, id)
	if err != nil {
		return err
	}
	snap := r.finishedRun(run, tasks[id], r.defOf(run.DAG))
	r.mu.Lock()
	for i := range r.finished {
		if r.finished[i].ID == id {
			r.finished[i] = snap
		}
	}
	r.version++
	r.mu.Unlock()
	r.changed()
	return nil
}
