package runqueue

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// BackfillsLoadedMsg carries the backfills with their progress, or why
// they could not be read.
type BackfillsLoadedMsg struct {
	Backfills []api.Backfill
	Err       error
}

// BackfillCancelledMsg says a backfill was cancelled: its row goes once
// the list is read again.
type BackfillCancelledMsg struct{ ID int64 }

// backfills is what the queue knows of the engine's backfills. The
// snapshot does not carry them: the pane reads them when runs change
// while one is active, one read at a time.
type backfills struct {
	active []api.Backfill // running backfills, newest first
	// shown is the list the rows index, swapped in by rebuild.
	shown   []api.Backfill
	loading bool
	// unavailable: the engine has no backfills (api.ErrNotAvailable);
	// the pane stops asking.
	unavailable bool
	err         string
}

// refreshBackfills reads the backfills again when one may have moved: a
// backfill is showing, or a backfill's run is in the snapshot.
func (m *Model) refreshBackfills(force bool) tea.Cmd {
	b := &m.bf
	if b.unavailable || b.loading || m.snap == nil {
		return nil
	}
	if !force && len(b.active) == 0 && !hasBackfillRun(m.snap) {
		return nil
	}
	b.loading = true
	return common.RequestAction(common.Action{
		Name:  "reading backfills",
		Quiet: true,
		Load: func(ctx context.Context, a api.API) (tea.Msg, error) {
			list, err := a.Backfills(ctx)
			// The pane shows the error on its header: a refresh that
			// fails every second must not toast every second.
			return BackfillsLoadedMsg{Backfills: list, Err: err}, nil
		},
	})
}

func hasBackfillRun(snap *api.Snapshot) bool {
	for _, runs := range [][]api.Run{snap.Runs.Queued, snap.Runs.Running} {
		for i := range runs {
			if runs[i].Trigger == "backfill" {
				return true
			}
		}
	}
	return false
}

func (m *Model) backfillsLoaded(msg BackfillsLoadedMsg) {
	b := &m.bf
	b.loading = false
	switch {
	case errors.Is(msg.Err, api.ErrNotAvailable):
		b.unavailable, b.active, b.err = true, nil, ""
	case msg.Err != nil:
		b.err = msg.Err.Error()
	default:
		b.err, b.active = "", b.active[:0:0]
		for _, x := range msg.Backfills {
			if x.State == api.BackfillRunning {
				b.active = append(b.active, x)
			}
		}
	}
	m.rebuild(m.snap)
}

// selectedBackfill is the backfill under the cursor, nil on another row.
func (m *Model) selectedBackfill() *api.Backfill {
	i := m.List.Cursor()
	if i < 0 || i >= len(m.rows) || m.rows[i].kind != rowBackfill {
		return nil
	}
	return &m.bf.shown[m.rows[i].run]
}

// cancelBackfill asks, then cancels a backfill as a whole: nothing more is
// queued, its queued and running runs are cancelled.
func (m *Model) cancelBackfill(b *api.Backfill) tea.Cmd {
	id, name := b.ID, b.DAG
	left := b.Pending + b.Queued + b.Running
	return common.RequestAction(common.Action{
		Name: fmt.Sprintf("cancelling backfill #%d", id),
		Prompt: fmt.Sprintf("Cancel backfill #%d of %s? %s not queued yet are dropped; its %d queued and %d running run(s) are cancelled.",
			id, name, common.Plural(b.Pending, "fire time"), b.Queued, b.Running),
		Destructive: true,
		Done:        BackfillCancelledMsg{ID: id},
		Do: func(ctx context.Context, a api.API) (string, error) {
			if err := a.CancelBackfill(ctx, id); err != nil {
				return "", fmt.Errorf("cancelling backfill #%d: %w", id, err)
			}
			return fmt.Sprintf("cancelled backfill #%d of %s (%d left undone)", id, name, left), nil
		},
	})
}

// backfillProgress is "12 done · 2 failed · 24 queued of 38": queued
// counts every run not finished (running, queued, and the fire times
// MaxActive holds back), as the operator waits for all of them; wide,
// the running ones are named too.
func backfillProgress(b *api.Backfill, wide bool) string {
	s := fmt.Sprintf("%d done · %d failed · %d queued of %d", b.Succeeded, b.Failed, b.Queued+b.Pending+b.Running, b.Total)
	if wide && b.Running > 0 {
		s += fmt.Sprintf(" (%d running)", b.Running)
	}
	if b.Cancelled > 0 {
		s += fmt.Sprintf(" · %d cancelled", b.Cancelled)
	}
	return s
}
