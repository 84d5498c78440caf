package review

import "context"

// Store is the only storage boundary of the review service. The engine's
// SQLite store implements it (engine/store/reviews.go); any implementation
// must keep History append-only and refuse stale updates.
type Store interface {
	// CreateReview inserts it with its History, setting it.ID and
	// it.Version (1).
	CreateReview(ctx context.Context, it *Item) error
	// UpdateReview saves it if the stored version still equals it.Version
	// (else ErrConflict), appends ev to its history, and increments
	// it.Version. it.History gets ev too.
	UpdateReview(ctx context.Context, it *Item, ev Event) error
	// Review returns one item with its history, or ErrNotFound.
	Review(ctx context.Context, id int64) (*Item, error)
	// Reviews returns every item with its history, newest first.
	Reviews(ctx context.Context) ([]*Item, error)
}
