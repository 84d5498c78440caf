package engine

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/review"
)

// newReviews prepares the review service on the engine's store. It always
// exists: items staged by `sluice meta run` can be approved from the
// console even when this engine stages none itself.
func (e *Engine) newReviews() error {
	cfg := e.cfg.Review
	cfg.StateDir = e.cfg.StateDir
	if cfg.Clock == nil {
		cfg.Clock = e.cfg.Clock
	}
	if cfg.Archiver == nil && e.cfg.Meta.ModeWorkspace != "" {
		// The workspace the metapipeline reads is the one whose reports it
		// proposes to archive.
		client, err := mode.New(mode.Config{
			BaseURL:   e.cfg.Meta.ModeURL,
			Workspace: e.cfg.Meta.ModeWorkspace,
			Token:     e.cfg.Meta.ModeToken,
			Secret:    e.cfg.Meta.ModeSecret,
			Logger:    e.log.With("component", "mode"),
		})
		if err != nil {
			e.log.Warn("archiving Mode reports is unavailable", "err", err)
		} else {
			cfg.Archiver = client
		}
	}
	svc, err := review.New(cfg, review.NewSQLStore(e.st), e.log.With("component", "review"))
	if err != nil {
		return fmt.Errorf("preparing reviews: %w", err)
	}
	e.reviews = svc
	return nil
}

// Approve implements API: it pushes the item's branch and opens its pull
// request, or archives its reports.
func (e *Engine) Approve(ctx context.Context, id int64) error {
	// The service logs every state the item passes through.
	_, err := e.reviews.Approve(ctx, id, false)
	e.events.publish(TopicReviews)
	return err
}

// Reject implements API: the item is set aside and its local branch
// deleted; nothing is pushed.
func (e *Engine) Reject(ctx context.Context, id int64) error {
	_, err := e.reviews.Reject(ctx, id)
	e.events.publish(TopicReviews)
	return err
}
