package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// ReplayBatch implements API: a re-run that insists on a stored batch, so
// the operator who meant "process these records again" never gets a run
// without them. The batch is the one the store holds; Kafka is not asked.
func (e *Engine) ReplayBatch(ctx context.Context, id int64, reason string) (int64, error) {
	newID, err := e.replayBatch(ctx, id)
	result := ""
	if err == nil {
		result = fmt.Sprintf("ok: run %d", newID)
	} else if errors.Is(err, store.ErrDuplicateRerun) {
		result, err = fmt.Sprintf("%s: run %d already replays it", auditUnchanged, newID), nil
	}
	e.audit(ctx, "replay batch", fmt.Sprintf("run %d", id), reason, result, err)
	if err != nil {
		return 0, err
	}
	e.log.Info("batch replayed", "run", id, "new_run", newID, "actor", actorOf(ctx))
	return newID, nil
}

func (e *Engine) replayBatch(ctx context.Context, id int64) (int64, error) {
	st, err := e.openStore(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("replaying the batch of run %d: %w", id, err)
	}
	orig, err := st.Run(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("replaying the batch of %w", err)
	}
	if orig.BatchID == 0 {
		return 0, fmt.Errorf("replaying the batch of run %d: %w: it carries no batch (re-run it instead)", id, api.ErrConflict)
	}
	if !orig.Finished() {
		return 0, fmt.Errorf("replaying the batch of run %d (%s): %w: it has not finished", id, orig.State, api.ErrConflict)
	}
	return e.rerun(ctx, id, api.RerunOptions{})
}
