package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// AddNotifications stores the notifications not stored yet, in order.
func (s *Store) AddNotifications(ctx context.Context, ns []Notification) (int, error) {
	added := 0
	err := s.write(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, n := range ns {
			res, err := s.exec(ctx, tx, `INSERT INTO notifications (target, event_id, type, subject, payload, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target, event_id) DO NOTHING`,
				n.Target, n.EventID, n.Type, n.Subject, n.Payload, n.CreatedAt.UnixNano())
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storing notifications: %w", err)
	}
	return added, nil
}

// PendingNotifications returns target's unsent notifications, oldest first.
func (s *Store) PendingNotifications(ctx context.Context, target string, limit int) ([]Notification, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+notificationColumns+`
		FROM notifications WHERE target = ? AND sent_at IS NULL ORDER BY seq LIMIT ?`, target, limit)
	if err != nil {
		return nil, fmt.Errorf("reading pending notifications of %s: %w", target, err)
	}
	return scanNotifications(rows, target)
}

// notificationColumns are what scanNotifications reads.
const notificationColumns = "seq, target, event_id, type, subject, payload, created_at, attempts, last_error"

// scanNotifications reads rows of notificationColumns and closes them.
func scanNotifications(rows *sql.Rows, target string) ([]Notification, error) {
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE notifications SET sent_at = ? WHERE sent_at IS NULL AND seq IN ("+placeholders(len(seqs))+")",
			append([]any{at.UnixNano()}, int64Args(seqs)...)...)
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE notifications SET attempts = attempts + 1, last_error = ? WHERE sent_at IS NULL AND seq IN ("+placeholders(len(seqs))+")",
			append([]any{errMsg}, int64Args(seqs)...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording failed notifications: %w", err)
	}
	return nil
}

// NotificationStatus sums up each target's outbox, by name.
func (s *Store) NotificationStatus(ctx context.Context) ([]NotificationTarget, error) {
	rows, err := s.db.QueryContext(ctx, NotificationStatusQuery)
	if err != nil {
		return nil, fmt.Errorf("reading notification status: %w", err)
	}
	defer rows.Close()
	var out []NotificationTarget
	for rows.Next() {
		var t NotificationTarget
		var last int64
		if err := rows.Scan(&t.Target, &t.Pending, &last, &t.Attempts, &t.LastError); err != nil {
			return nil, fmt.Errorf("reading notification status: %w", err)
		}
		if last != 0 {
			t.LastSent = time.Unix(0, last)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// NotificationStatusQuery is NotificationStatus in SQL both dialects
// read: per target, pending count, last delivery, and the oldest pending
// row's attempts and error.
const NotificationStatusQuery = `SELECT n.target,
	CAST(SUM(CASE WHEN n.sent_at IS NULL THEN 1 ELSE 0 END) AS BIGINT),
	COALESCE(MAX(n.sent_at), 0),
	COALESCE((SELECT p.attempts FROM notifications p WHERE p.target = n.target AND p.sent_at IS NULL ORDER BY p.seq LIMIT 1), 0),
	COALESCE((SELECT p.last_error FROM notifications p WHERE p.target = n.target AND p.sent_at IS NULL ORDER BY p.seq LIMIT 1), '')
	FROM notifications n GROUP BY n.target ORDER BY n.target`

// PruneNotifications deletes the notifications sent before cutoff.
func (s *Store) PruneNotifications(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM notifications WHERE sent_at IS NOT NULL AND sent_at < ?", cutoff.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning notifications: %w", err)
	}
	return int(n), nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func int64Args(vs []int64) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
