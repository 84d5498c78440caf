package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// CreateBackfill stores a backfill and queues its first fire times, queued
// at b.CreatedAt.
func (s *Store) CreateBackfill(ctx context.Context, b api.Backfill, fires []time.Time) (int64, error) {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	nanos := make([]int64, len(fires))
	for i, f := range fires {
		nanos[i] = f.UnixNano()
	}
	raw, err := json.Marshal(nanos)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO backfills (dag, from_time, to_time, reprocess, max_active, dag_version, state, created_by, created_at, total, fires)
			VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10) RETURNING id`, b.DAG, b.From.UnixNano(), b.To.UnixNano(), b.Reprocess,
			b.MaxActive, b.DAGVersion, b.By, b.CreatedAt.UnixNano(), len(fires), string(raw)).Scan(&id); err != nil {
			return err
		}
		_, err := feedBackfill(ctx, tx, id, b.CreatedAt)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storing a backfill of %q: %w", b.DAG, err)
	}
	return id, nil
}

// FeedBackfill queues the next fire times of a running backfill. The
// backfill's row is locked: two instances feeding it at once queue each
// fire time once. The runs are queued at now.
func (s *Store) FeedBackfill(ctx context.Context, id int64, now time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = feedBackfill(ctx, tx, id, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queueing runs of backfill %d: %w", id, err)
	}
	return n, nil
}

func feedBackfill(ctx context.Context, tx pgx.Tx, id int64, now time.Time) (int, error) {
	var (
		dag, state, raw                string
		maxActive, fed, total, version int
	)
	err := tx.QueryRow(ctx, "SELECT dag, state, max_active, fed, total, fires, dag_version FROM backfills WHERE id = $1 FOR UPDATE", id).
		Scan(&dag, &state, &maxActive, &fed, &total, &raw, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("backfill %d: %w", id, store.ErrNotFound)
	}
	if err != nil || state != api.BackfillRunning || fed >= total {
		return 0, err
	}
	room := total - fed
	if maxActive > 0 {
		var active int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM runs WHERE backfill_id = $1 AND state IN ('queued', 'running')", id).
			Scan(&active); err != nil {
			return 0, err
		}
		room = min(room, maxActive-active)
	}
	if room <= 0 {
		return 0, nil
	}
	var fires []int64
	if err := json.Unmarshal([]byte(raw), &fires); err != nil {
		return 0, fmt.Errorf("backfill %d: reading its fire times: %w", id, err)
	}
	for _, at := range fires[fed : fed+room] {
		if _, err := createRun(ctx, tx, store.BackfillRun(dag, id, version, time.Unix(0, at), now), 0); err != nil {
			return 0, err
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE backfills SET fed = $1 WHERE id = $2", fed+room, id); err != nil {
		return 0, err
	}
	return room, nil
}

const backfillColumns = `b.id, b.dag, b.from_time, b.to_time, b.reprocess, b.max_active, b.dag_version, b.state, b.created_by, b.created_at, b.total, b.fed,
	count(r.id) FILTER (WHERE r.state = 'queued'), count(r.id) FILTER (WHERE r.state = 'running'),
	count(r.id) FILTER (WHERE r.state = 'success'), count(r.id) FILTER (WHERE r.state = 'failed'),
	count(r.id) FILTER (WHERE r.state = 'cancelled')
	FROM backfills b LEFT JOIN runs r ON r.backfill_id = b.id`

// Backfill returns one backfill with its progress.
func (s *Store) Backfill(ctx context.Context, id int64) (api.Backfill, error) {
	bs, err := s.queryBackfills(ctx, "WHERE b.id = $1 GROUP BY b.id", id)
	if err != nil {
		return api.Backfill{}, err
	}
	if len(bs) == 0 {
		return api.Backfill{}, fmt.Errorf("backfill %d: %w", id, store.ErrNotFound)
	}
	return bs[0], nil
}

// Backfills lists backfills, newest first.
func (s *Store) Backfills(ctx context.Context) ([]api.Backfill, error) {
	return s.queryBackfills(ctx, "GROUP BY b.id ORDER BY b.id DESC")
}

func (s *Store) queryBackfills(ctx context.Context, where string, args ...any) ([]api.Backfill, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT "+backfillColumns+" "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("reading backfills: %w", err)
	}
	defer rows.Close()
	var out []api.Backfill
	for rows.Next() {
		var (
			b                 api.Backfill
			from, to, created int64
			fed               int
		)
		if err := rows.Scan(&b.ID, &b.DAG, &from, &to, &b.Reprocess, &b.MaxActive, &b.DAGVersion, &b.State, &b.By, &created, &b.Total, &fed,
			&b.Queued, &b.Running, &b.Succeeded, &b.Failed, &b.Cancelled); err != nil {
			return nil, fmt.Errorf("reading backfills: %w", err)
		}
		b.From, b.To, b.CreatedAt = time.Unix(0, from), time.Unix(0, to), time.Unix(0, created)
		store.SettleBackfill(&b, fed)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading backfills: %w", err)
	}
	return out, nil
}

// CancelBackfill stops a backfill and returns its active runs.
func (s *Store) CancelBackfill(ctx context.Context, id int64) ([]int64, error) {
	var active []int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE backfills SET state = 'cancelled' WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("backfill %d: %w", id, store.ErrNotFound)
		}
		rows, err := tx.Query(ctx, "SELECT id FROM runs WHERE backfill_id = $1 AND state IN ('queued', 'running') ORDER BY id", id)
		if err != nil {
			return err
		}
		active, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancelling backfill %d: %w", id, err)
	}
	return active, nil
}

// ScheduledRuns returns the best run answering each fire time of dag.
func (s *Store) ScheduledRuns(ctx context.Context, dag string, from, to time.Time) (map[int64]store.ScheduledRun, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, state, scheduled_for FROM runs
		WHERE dag = $1 AND scheduled_for BETWEEN $2 AND $3 ORDER BY id`, dag, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("reading runs of %q by fire time: %w", dag, err)
	}
	defer rows.Close()
	out := map[int64]store.ScheduledRun{}
	for rows.Next() {
		var (
			r  store.ScheduledRun
			at int64
		)
		if err := rows.Scan(&r.ID, &r.State, &at); err != nil {
			return nil, fmt.Errorf("reading runs of %q by fire time: %w", dag, err)
		}
		store.KeepBestScheduled(out, at, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading runs of %q by fire time: %w", dag, err)
	}
	return out, nil
}
