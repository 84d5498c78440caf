package engine

import (
	"context"

	"github.com/sluice-dev/sluice/engine/api"
)

// The review service always exists (built by buildReviews in Open): items
// staged by `sluice meta run` can be approved from the console even when
// this engine stages none itself.

// Approve implements API: it pushes the item's branch and opens its pull
// request, or archives its reports.
func (e *Engine) Approve(ctx context.Context, id int64) error {
	_, err := e.ApproveReview(ctx, id, false)
	return err
}

// ExcludeFromReview implements API: a model goes out of (or, with Undo,
// back into) a staged deprecation item, which is re-staged.
func (e *Engine) ExcludeFromReview(ctx context.Context, id int64, model string, x api.Exclusion) error {
	_, err := e.ExcludeReviewModel(ctx, id, model, x)
	return err
}

// Reject implements API: the item is set aside and its local branch
// deleted; nothing is pushed.
func (e *Engine) Reject(ctx context.Context, id int64, reason string) error {
	_, err := e.RejectReview(ctx, id, reason)
	return err
}
