package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// RecordAudit appends one operator action to the audit log.
func (s *Store) RecordAudit(ctx context.Context, e api.AuditEntry) (int64, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertAudit(ctx, tx, e)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recording %s of %s in the audit log: %w", e.Action, e.Target, err)
	}
	return id, nil
}

func insertAudit(ctx context.Context, tx *sql.Tx, e api.AuditEntry) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, outcome, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		e.At.UnixNano(), e.Actor, e.Action, e.Target, e.Outcome, e.Reason)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// AuditLog lists audit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	query := "SELECT id, at, actor, action, target, outcome, reason FROM audit_log WHERE at >= ? ORDER BY at DESC, id DESC"
	var since int64
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, since)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []api.AuditEntry
	for rows.Next() {
		var e api.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Reason); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At = time.Unix(0, at)
		out = append(out, e)
	}
	return out, rows.Err()
}
