package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// CreateBackfill stores a backfill and queues its first fire times, queued
// at b.CreatedAt.
func (s *Store) CreateBackfill(ctx context.Context, b api.Backfill, fires []time.Time) (int64, error) {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	raw, err := json.Marshal(unixNanos(fires))
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO backfills (dag, from_time, to_time, reprocess, max_active, dag_version, state, created_by, created_at, total, fires)
			VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)`, b.DAG, b.From.UnixNano(), b.To.UnixNano(), b.Reprocess, b.MaxActive, b.DAGVersion,
			b.By, b.CreatedAt.UnixNano(), len(fires), string(raw))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		_, err = s.feedBackfill(ctx, tx, id, b.CreatedAt)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storing a backfill of %q: %w", b.DAG, err)
	}
	return id, nil
}

// FeedBackfill queues the next fire times of a running backfill, queued at
// now.
func (s *Store) FeedBackfill(ctx context.Context, id int64, now time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.feedBackfill(ctx, tx, id, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queueing runs of backfill %d: %w", id, err)
	}
	return n, nil
}

func (s *Store) feedBackfill(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (int, error) {
	var (
		dag, state, raw                string
		maxActive, fed, total, version int
	)
	err := tx.QueryRowContext(ctx, "SELECT dag, state, max_active, fed, total, fires, dag_version FROM backfills WHERE id = ?", id).
		Scan(&dag, &state, &maxActive, &fed, &total, &raw, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("backfill %d: %w", id, ErrNotFound)
	}
	if err != nil || state != api.BackfillRunning || fed >= total {
		return 0, err
	}
	room := total - fed
	if maxActive > 0 {
		var active int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM runs WHERE backfill_id = ? AND state IN ('queued', 'running')", id).
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
		if _, err := s.createRun(ctx, tx, backfillRun(dag, id, version, time.Unix(0, at), now)); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE backfills SET fed = ? WHERE id = ?", fed+room, id); err != nil {
		return 0, err
	}
	return room, nil
}

// backfillRun is the run a backfill queues for one fire time: external
// (the engine on the store adopts it), with its logical time in its
// config.
func backfillRun(dag string, id int64, version int, at, now time.Time) NewRun {
	cfg, _ := json.Marshal(map[string]string{api.LogicalTimeKey: at.UTC().Format(time.RFC3339Nano)})
	return NewRun{DAG: dag, Trigger: TriggerBackfill, Config: cfg, QueuedAt: now, ScheduledFor: at, External: true, BackfillID: id,
		DAGVersion: version}
}

// BackfillRun is the run a backfill queues for one fire time, for other
// implementations of the contract.
func BackfillRun(dag string, id int64, version int, at, now time.Time) NewRun {
	return backfillRun(dag, id, version, at, now)
}

func unixNanos(ts []time.Time) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.UnixNano()
	}
	return out
}

const backfillColumns = `b.id, b.dag, b.from_time, b.to_time, b.reprocess, b.max_active, b.dag_version, b.state, b.created_by, b.created_at, b.total, b.fed,
	coalesce(sum(r.state = 'queued'), 0), coalesce(sum(r.state = 'running'), 0), coalesce(sum(r.state = 'success'), 0),
	coalesce(sum(r.state = 'failed'), 0), coalesce(sum(r.state = 'cancelled'), 0)
	FROM backfills b LEFT JOIN runs r ON r.backfill_id = b.id`

// Backfill returns one backfill with its progress.
func (s *Store) Backfill(ctx context.Context, id int64) (api.Backfill, error) {
	bs, err := s.queryBackfills(ctx, "WHERE b.id = ? GROUP BY b.id", id)
	if err != nil {
		return api.Backfill{}, err
	}
	if len(bs) == 0 {
		return api.Backfill{}, fmt.Errorf("backfill %d: %w", id, ErrNotFound)
	}
	return bs[0], nil
}

// Backfills lists backfills, newest first.
func (s *Store) Backfills(ctx context.Context) ([]api.Backfill, error) {
	return s.queryBackfills(ctx, "GROUP BY b.id ORDER BY b.id DESC")
}

func (s *Store) queryBackfills(ctx context.Context, where string, args ...any) ([]api.Backfill, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+backfillColumns+" "+where, args...)
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
		SettleBackfill(&b, fed)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading backfills: %w", err)
	}
	return out, nil
}

// SettleBackfill fills the fields of b derived from the counts: the fire
// times not queued yet, and done once every one ran.
func SettleBackfill(b *api.Backfill, fed int) {
	if b.State == api.BackfillRunning {
		b.Pending = b.Total - fed
	}
	if b.State == api.BackfillRunning && b.Pending == 0 && b.Queued == 0 && b.Running == 0 {
		b.State = api.BackfillDone
	}
}

// CancelBackfill stops a backfill and returns its active runs.
func (s *Store) CancelBackfill(ctx context.Context, id int64) ([]int64, error) {
	var active []int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		active = active[:0]
		res, err := tx.ExecContext(ctx, "UPDATE backfills SET state = 'cancelled' WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("backfill %d: %w", id, ErrNotFound)
		}
		rows, err := tx.QueryContext(ctx, "SELECT id FROM runs WHERE backfill_id = ? AND state IN ('queued', 'running') ORDER BY id", id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r int64
			if err := rows.Scan(&r); err != nil {
				return err
			}
			active = append(active, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("cancelling backfill %d: %w", id, err)
	}
	return active, nil
}

// ScheduledRuns returns the best run answering each fire time of dag.
func (s *Store) ScheduledRuns(ctx context.Context, dag string, from, to time.Time) (map[int64]ScheduledRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, state, scheduled_for FROM runs
		WHERE dag = ? AND scheduled_for BETWEEN ? AND ? ORDER BY id`, dag, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("reading runs of %q by fire time: %w", dag, err)
	}
	defer rows.Close()
	out := map[int64]ScheduledRun{}
	for rows.Next() {
		var (
			r  ScheduledRun
			at int64
		)
		if err := rows.Scan(&r.ID, &r.State, &at); err != nil {
			return nil, fmt.Errorf("reading runs of %q by fire time: %w", dag, err)
		}
		KeepBestScheduled(out, at, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading runs of %q by fire time: %w", dag, err)
	}
	return out, nil
}

// KeepBestScheduled records r for fire time at unless a succeeded run
// answers it already; rows come oldest first, so the newest otherwise wins.
func KeepBestScheduled(m map[int64]ScheduledRun, at int64, r ScheduledRun) {
	if have, ok := m[at]; ok && have.State == api.RunSuccess {
		return
	}
	m[at] = r
}
