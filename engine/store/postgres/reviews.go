package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// CreateReview inserts r with its history and sets r.ID and r.Version (1).
func (s *Store) CreateReview(ctx context.Context, r *store.ReviewRecord) error {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO reviews
			(kind, state, branch, fingerprint, data, diff, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) RETURNING id`,
			r.Kind, r.State, r.Branch, r.Fingerprint, nonNil(r.Data), r.Diff, r.CreatedAt.UnixNano(), r.UpdatedAt.UnixNano()).Scan(&id)
		if err != nil {
			return err
		}
		for i, ev := range r.History {
			if err := insertReviewEvent(ctx, tx, id, i+1, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating %s review: %w", r.Kind, err)
	}
	r.ID, r.Version = id, 1
	return nil
}

// nonNil keeps a nil slice from becoming NULL in a NOT NULL column: SQLite
// stores nil as an empty blob.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// UpdateReview saves r if the stored version is still r.Version, appends
// ev to its history and increments r.Version. The version check and the
// write are one statement: of two consoles approving at once, on any
// instances, one wins and the other gets store.ErrReviewConflict.
func (s *Store) UpdateReview(ctx context.Context, r *store.ReviewRecord, ev store.ReviewEvent) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reviews SET kind = $1, state = $2, branch = $3, fingerprint = $4,
			data = $5, diff = $6, updated_at = $7, version = version + 1
			WHERE id = $8 AND version = $9`,
			r.Kind, r.State, r.Branch, r.Fingerprint, nonNil(r.Data), r.Diff, r.UpdatedAt.UnixNano(), r.ID, r.Version)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM reviews WHERE id = $1)", r.ID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return store.ErrReviewNotFound
			}
			return store.ErrReviewConflict
		}
		// The row lock the update holds serialises this read.
		var seq int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM review_events WHERE review_id = $1", r.ID).Scan(&seq); err != nil {
			return err
		}
		return insertReviewEvent(ctx, tx, r.ID, seq, ev)
	})
	if err != nil {
		return fmt.Errorf("updating review %d: %w", r.ID, err)
	}
	r.Version++
	r.History = append(r.History, ev)
	return nil
}

func insertReviewEvent(ctx context.Context, tx pgx.Tx, id int64, seq int, ev store.ReviewEvent) error {
	_, err := tx.Exec(ctx, "INSERT INTO review_events (review_id, seq, at, state, note) VALUES ($1, $2, $3, $4, $5)",
		id, seq, ev.At.UnixNano(), ev.State, ev.Note)
	return err
}

const reviewColumns = "id, kind, state, branch, fingerprint, data, diff, created_at, updated_at, version"

func scanReview(row pgx.Row) (store.ReviewRecord, error) {
	var r store.ReviewRecord
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Kind, &r.State, &r.Branch, &r.Fingerprint, &r.Data, &r.Diff, &created, &updated, &r.Version); err != nil {
		return store.ReviewRecord{}, err
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(0, created), time.Unix(0, updated)
	return r, nil
}

// Review returns one item with its history; store.ErrReviewNotFound when
// none.
func (s *Store) Review(ctx context.Context, id int64) (store.ReviewRecord, error) {
	db, err := s.q()
	if err != nil {
		return store.ReviewRecord{}, err
	}
	r, err := scanReview(db.QueryRow(ctx, "SELECT "+reviewColumns+" FROM reviews WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ReviewRecord{}, store.ErrReviewNotFound // the caller names the review
	}
	if err != nil {
		return store.ReviewRecord{}, fmt.Errorf("reading review %d: %w", id, err)
	}
	hist, err := s.reviewEvents(ctx, "WHERE review_id = $1", id)
	if err != nil {
		return store.ReviewRecord{}, err
	}
	r.History = hist[id]
	return r, nil
}

// Reviews returns every item with its history, newest first.
func (s *Store) Reviews(ctx context.Context) ([]store.ReviewRecord, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT "+reviewColumns+" FROM reviews ORDER BY id DESC")
	if err != nil {
		return nil, fmt.Errorf("listing reviews: %w", err)
	}
	var out []store.ReviewRecord
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing reviews: %w", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing reviews: %w", err)
	}
	hist, err := s.reviewEvents(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].History = hist[out[i].ID]
	}
	return out, nil
}

func (s *Store) reviewEvents(ctx context.Context, where string, args ...any) (map[int64][]store.ReviewEvent, error) {
	rows, err := s.pool.Query(ctx, "SELECT review_id, at, state, note FROM review_events "+where+" ORDER BY review_id, seq", args...)
	if err != nil {
		return nil, fmt.Errorf("reading review history: %w", err)
	}
	defer rows.Close()
	out := map[int64][]store.ReviewEvent{}
	for rows.Next() {
		var id, at int64
		var ev store.ReviewEvent
		if err := rows.Scan(&id, &at, &ev.State, &ev.Note); err != nil {
			return nil, fmt.Errorf("reading review history: %w", err)
		}
		ev.At = time.Unix(0, at)
		out[id] = append(out[id], ev)
	}
	return out, rows.Err()
}
