package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Review errors.
var (
	ErrReviewNotFound = errors.New("review item not found")
	// ErrReviewConflict: the item changed since it was read.
	ErrReviewConflict = errors.New("review item changed concurrently")
)

// ReviewRecord is a review item as stored (tables reviews and review_events,
// migration 0003). Data is the review package's JSON; the store only keeps
// it.
type ReviewRecord struct {
	ID          int64
	Kind        string
	State       string
	Branch      string
	Fingerprint string
	Data        []byte
	Diff        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
	History     []ReviewEvent // oldest first
}

// ReviewEvent is one entry of an item's history.
type ReviewEvent struct {
	At    time.Time
	State string
	Note  string
}

// CreateReview inserts r with its history and sets r.ID and r.Version (1).
func (s *Store) CreateReview(ctx context.Context, r *ReviewRecord) error {
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO reviews
			(kind, state, branch, fingerprint, data, diff, created_at, updated_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			r.Kind, r.State, r.Branch, r.Fingerprint, r.Data, r.Diff, r.CreatedAt.UnixNano(), r.UpdatedAt.UnixNano())
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
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

// UpdateReview saves r if the stored version is still r.Version, appends ev
// to its history and increments r.Version. ErrReviewConflict when another
// writer got there first; ErrReviewNotFound when there is no such item.
func (s *Store) UpdateReview(ctx context.Context, r *ReviewRecord, ev ReviewEvent) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE reviews SET kind = ?, state = ?, branch = ?, fingerprint = ?,
			data = ?, diff = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`,
			r.Kind, r.State, r.Branch, r.Fingerprint, r.Data, r.Diff, r.UpdatedAt.UnixNano(), r.ID, r.Version)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var exists int
			err := tx.QueryRowContext(ctx, "SELECT count(*) FROM reviews WHERE id = ?", r.ID).Scan(&exists)
			if err != nil {
				return err
			}
			if exists == 0 {
				return ErrReviewNotFound
			}
			return ErrReviewConflict
		}
		var seq int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM review_events WHERE review_id = ?", r.ID).Scan(&seq); err != nil {
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

func insertReviewEvent(ctx context.Context, tx *sql.Tx, id int64, seq int, ev ReviewEvent) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO review_events (review_id, seq, at, state, note) VALUES (?, ?, ?, ?, ?)",
		id, seq, ev.At.UnixNano(), ev.State, ev.Note)
	return err
}

const reviewColumns = "id, kind, state, branch, fingerprint, data, diff, created_at, updated_at, version"

func scanReview(sc rowScanner) (ReviewRecord, error) {
	var r ReviewRecord
	var created, updated int64
	if err := sc.Scan(&r.ID, &r.Kind, &r.State, &r.Branch, &r.Fingerprint, &r.Data, &r.Diff, &created, &updated, &r.Version); err != nil {
		return ReviewRecord{}, err
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(0, created), time.Unix(0, updated)
	return r, nil
}

// Review returns one item with its history; ErrReviewNotFound when none.
func (s *Store) Review(ctx context.Context, id int64) (ReviewRecord, error) {
	r, err := scanReview(s.db.QueryRowContext(ctx, "SELECT "+reviewColumns+" FROM reviews WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewRecord{}, ErrReviewNotFound // the caller names the review
	}
	if err != nil {
		return ReviewRecord{}, fmt.Errorf("reading review %d: %w", id, err)
	}
	hist, err := s.reviewEvents(ctx, "WHERE review_id = ?", id)
	if err != nil {
		return ReviewRecord{}, err
	}
	r.History = hist[id]
	return r, nil
}

// Reviews returns every item with its history, newest first.
func (s *Store) Reviews(ctx context.Context) ([]ReviewRecord, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+reviewColumns+" FROM reviews ORDER BY id DESC")
	if err != nil {
		return nil, fmt.Errorf("listing reviews: %w", err)
	}
	var out []ReviewRecord
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

func (s *Store) reviewEvents(ctx context.Context, where string, args ...any) (map[int64][]ReviewEvent, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT review_id, at, state, note FROM review_events "+where+" ORDER BY review_id, seq", args...)
	if err != nil {
		return nil, fmt.Errorf("reading review history: %w", err)
	}
	defer rows.Close()
	out := map[int64][]ReviewEvent{}
	for rows.Next() {
		var id, at int64
		var ev ReviewEvent
		if err := rows.Scan(&id, &at, &ev.State, &ev.Note); err != nil {
			return nil, fmt.Errorf("reading review history: %w", err)
		}
		ev.At = time.Unix(0, at)
		out[id] = append(out[id], ev)
	}
	return out, rows.Err()
}
