package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// AddNotifications stores the notifications not stored yet, in order.
func (s *Store) AddNotifications(ctx context.Context, ns []store.Notification) (int, error) {
	added := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		added = 0
		for _, n := range ns {
			tag, err := tx.Exec(ctx, `INSERT INTO notifications (target, event_id, type, subject, payload, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (target, event_id) DO NOTHING`,
				n.Target, n.EventID, n.Type, n.Subject, n.Payload, n.CreatedAt.UnixNano())
			if err != nil {
				return err
			}
			added += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storing notifications: %w", err)
	}
	return added, nil
}

// PendingNotifications returns target's unsent notifications, oldest first.
func (s *Store) PendingNotifications(ctx context.Context, target string, limit int) ([]store.Notification, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+notificationColumns+`
		FROM notifications WHERE target = $1 AND sent_at IS NULL ORDER BY seq LIMIT $2`, target, limit)
	if err != nil {
		return nil, fmt.Errorf("reading pending notifications of %s: %w", target, err)
	}
	return scanNotifications(rows, target)
}

// notificationColumns are what scanNotifications reads.
const notificationColumns = "seq, target, event_id, type, subject, payload, created_at, attempts, last_error"

// scanNotifications reads rows of notificationColumns and closes them.
func scanNotifications(rows pgx.Rows, target string) ([]store.Notification, error) {
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		var n store.Notification
		var created int64
		if err := rows.Scan(&n.Seq, &n.Target, &n.EventID, &n.Type, &n.Subject, &n.Payload, &created, &n.Attempts, &n.LastError); err != nil {
			return nil, fmt.Errorf("reading pending notifications of %s: %w", target, err)
		}
		n.CreatedAt = time.Unix(0, created)
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkNotificationsSent records seqs as delivered.
func (s *Store) MarkNotificationsSent(ctx context.Context, seqs []int64, at time.Time) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE notifications SET sent_at = $1 WHERE sent_at IS NULL AND seq = ANY($2)", at.UnixNano(), seqs)
		return err
	})
	if err != nil {
		return fmt.Errorf("marking notifications sent: %w", err)
	}
	return nil
}

// NotificationFailed counts a failed attempt of each of seqs.
func (s *Store) NotificationFailed(ctx context.Context, seqs []int64, errMsg string) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE notifications SET attempts = attempts + 1, last_error = $1 WHERE sent_at IS NULL AND seq = ANY($2)", errMsg, seqs)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording failed notifications: %w", err)
	}
	return nil
}

// NotificationStatus sums up each target's outbox, by name.
func (s *Store) NotificationStatus(ctx context.Context) ([]store.NotificationTarget, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, store.NotificationStatusQuery)
	if err != nil {
		return nil, fmt.Errorf("reading notification status: %w", err)
	}
	defer rows.Close()
	var out []store.NotificationTarget
	for rows.Next() {
		var t store.NotificationTarget
		var pending, last int64
		var attempts int32
		if err := rows.Scan(&t.Target, &pending, &last, &attempts, &t.LastError); err != nil {
			return nil, fmt.Errorf("reading notification status: %w", err)
		}
		t.Pending, t.Attempts = int(pending), int(attempts)
		if last != 0 {
			t.LastSent = time.Unix(0, last)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PruneNotifications deletes the notifications sent before cutoff.
func (s *Store) PruneNotifications(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM notifications WHERE sent_at IS NOT NULL AND sent_at < $1", cutoff.UnixNano())
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning notifications: %w", err)
	}
	return int(n), nil
}
