package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// LastFires returns each scheduled DAG's last recorded fire time.
func (s *Store) LastFires(ctx context.Context) (map[string]time.Time, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT dag, last_fire FROM schedules")
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

// SetLastFire records a DAG's last fire time without creating a run; an
// earlier time never replaces a later one.
func (s *Store) SetLastFire(ctx context.Context, dag string, at time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return setLastFire(ctx, tx, dag, at) })
}

func setLastFire(ctx context.Context, tx pgx.Tx, dag string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO schedules (dag, last_fire) VALUES ($1, $2)
		ON CONFLICT (dag) DO UPDATE SET last_fire = GREATEST(schedules.last_fire, excluded.last_fire)`, dag, at.UnixNano())
	if err != nil {
		return fmt.Errorf("recording fire time of %q: %w", dag, err)
	}
	return nil
}
