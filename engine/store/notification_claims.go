package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ClaimNotifications claims target's oldest claimable notifications for
// holder. The store's one writer serialises claims.
func (s *Store) ClaimNotifications(ctx context.Context, target, holder string, now, until time.Time, limit int) ([]Notification, error) {
	var out []Notification
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE notifications SET claimed_by = ?2, claimed_until = ?4
			WHERE sent_at IS NULL AND seq IN (
				SELECT seq FROM notifications WHERE target = ?1 AND sent_at IS NULL AND subject NOT IN (
					SELECT subject FROM notifications
					WHERE target = ?1 AND sent_at IS NULL AND claimed_by != ?2 AND claimed_until > ?3)
				ORDER BY seq LIMIT ?5)
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
	slices.SortFunc(out, func(a, b Notification) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// ReleaseNotifications drops holder's claims on unsent notifications.
func (s *Store) ReleaseNotifications(ctx context.Context, holder string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE notifications SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ? AND sent_at IS NULL", holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing notification claims: %w", err)
	}
	return nil
}

// RecordNotifyStates sets the subjects' announced states, in one
// transaction.
func (s *Store) RecordNotifyStates(ctx context.Context, states []NotifyState) ([]int64, error) {
	if len(states) == 0 {
		return nil, nil
	}
	gens := make([]int64, len(states))
	err := s.write(ctx, func(tx *sql.Tx) error {
		for i, st := range states {
			gens[i] = 0
			err := tx.QueryRowContext(ctx, RecordNotifyStateQuery, st.Subject, st.State).Scan(&gens[i])
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recording notification states: %w", err)
	}
	return gens, nil
}

// RecordNotifyStateQuery is one subject's upsert in SQL both dialects
// read ($1 subject, $2 state): a row comes back only when the state
// changed (or the subject is new), with the change's generation. Under
// PostgreSQL a concurrent upsert of the same subject waits for the first
// and then finds the state already set.
const RecordNotifyStateQuery = `INSERT INTO notification_states (subject, state, gen) VALUES ($1, $2, 1)
	ON CONFLICT (subject) DO UPDATE SET state = excluded.state, gen = notification_states.gen + 1
	WHERE notification_states.state <> excluded.state
	RETURNING gen`
