package engine

import (
	"context"
	"errors"

	"github.com/sluice-dev/sluice/engine/store"
)

// NotificationStatus sums up each notification target's outbox from the
// store (pending, last delivery, the oldest pending message's attempts
// and error): what `sluice status` shows beside a running engine. A state
// dir without a store has none.
func (e *Engine) NotificationStatus(ctx context.Context) ([]store.NotificationTarget, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.NotificationStatus(ctx)
}
