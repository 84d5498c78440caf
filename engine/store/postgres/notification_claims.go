package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// ClaimNotifications claims target's oldest claimable notifications for
// holder. Instances claiming one target's outbox at once take turns on a
// transaction-level advisory lock: the second sees the first's claims
// committed, so it neither takes the same rows nor a subject the first
// holds.
func (s *Store) ClaimNotifications(ctx context.Context, target, holder string, now, until time.Time, limit int) ([]store.Notification, error) {
	var out []store.Notification
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('notifications:' || $1, 0))", target); err != nil {
			return err
		}
		// sent_at IS NULL is checked again on the row updated: one marked
		// sent meanwhile is not claimed.
		rows, err := tx.Query(ctx, `UPDATE notifications SET claimed_by = $2, claimed_until = $4
			WHERE sent_at IS NULL AND seq IN (
				SELECT seq FROM notifications WHERE target = $1 AND sent_at IS NULL AND subject NOT IN (
					SELECT subject FROM notifications
					WHERE target = $1 AND sent_at IS NULL AND claimed_by <> $2 AND claimed_until > $3)
				ORDER BY seq LIMIT $5 FOR UPDATE)
			RETURNING `+notificationColumns, target, holder, now.UnixNano(), until.UnixNano(), limit)
		if err != nil {
			return err
		}
		out, err = scanNotifications(rows, target)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming notifications of %s: %w", target, err)
	}
	slices.SortFunc(out, func(a, b store.Notification) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// ReleaseNotifications drops holder's claims on unsent notifications.
func (s *Store) ReleaseNotifications(ctx context.Context, holder string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE notifications SET claimed_by = '', claimed_until = 0 WHERE claimed_by = $1 AND sent_at IS NULL", holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing notification claims: %w", err)
	}
	return nil
}

// RecordNotifyStates sets the subjects' announced states in one
// transaction, the upserts sent as one batch.
func (s *Store) RecordNotifyStates(ctx context.Context, states []store.NotifyState) ([]int64, error) {
	if len(states) == 0 {
		return nil, nil
	}
	gens := make([]int64, len(states))
	// In subject order: two instances upserting overlapping subjects lock
	// their rows in one order, so they never deadlock.
	order := make([]int, len(states))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(states[a].Subject, states[b].Subject) })
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, i := range order {
			b.Queue(store.RecordNotifyStateQuery, states[i].Subject, states[i].State)
		}
		res := tx.SendBatch(ctx, b)
		for _, i := range order {
			gens[i] = 0
			if err := res.QueryRow().Scan(&gens[i]); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				res.Close()
				return err
			}
		}
		return res.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("recording notification states: %w", err)
	}
	return gens, nil
}
