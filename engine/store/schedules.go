package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LastFires returns each scheduled DAG's last recorded fire time.
func (s *Store) LastFires(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT dag, last_fire FROM schedules")
	if err != nil {
		return nil, fmt.Errorf("reading schedules: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var dag string
		var ns int64
		if err := rows.Scan(&dag, &ns); err != nil {
			return nil, fmt.Errorf("reading schedules: %w", err)
		}
		out[dag] = time.Unix(0, ns)
	}
	return out, rows.Err()
}

// SetLastFire records a DAG's last fire time without creating a run: a
// schedule seen for the first time, or fires skipped after downtime.
func (s *Store) SetLastFire(ctx context.Context, dag string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.setLastFire(ctx, tx, dag, at) })
}

func (s *Store) setLastFire(ctx context.Context, tx *sql.Tx, dag string, at time.Time) error {
	_, err := s.exec(ctx, tx, `INSERT INTO schedules (dag, last_fire) VALUES (?, ?)
		ON CONFLICT (dag) DO UPDATE SET last_fire = max(last_fire, excluded.last_fire)`, dag, at.UnixNano())
	if err != nil {
		return fmt.Errorf("recording fire time of %q: %w", dag, err)
	}
	return nil
}
