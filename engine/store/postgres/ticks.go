package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// RecordTick appends a tick and returns its id.
func (s *Store) RecordTick(ctx context.Context, t store.Tick) (int64, error) {
	var id int64
	ranges, err := store.EncodeTickRanges(t.Ranges)
	if err != nil {
		return 0, fmt.Errorf("recording tick of %s sensor %d: %w", t.DAG, t.Sensor, err)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO sensor_ticks
			(dag, sensor, member, started_at, duration, batches, messages, skipped, error, ranges)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			t.DAG, t.Sensor, t.Member, t.Start.UnixNano(), int64(t.Duration), t.Batches, t.Messages, t.Skipped, t.Error, ranges).Scan(&id)
		if err != nil {
			return err
		}
		// Prune now and then rather than on every insert: one indexed
		// delete per hundred ticks keeps the table bounded.
		if id%100 == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM sensor_ticks WHERE dag = $1 AND sensor = $2 AND id <=
				(SELECT id FROM sensor_ticks WHERE dag = $1 AND sensor = $2 ORDER BY id DESC LIMIT 1 OFFSET $3)`,
				t.DAG, t.Sensor, store.TicksKept)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recording tick of %s sensor %d: %w", t.DAG, t.Sensor, err)
	}
	return id, nil
}

// RecentTicks returns the newest ticks of one sensor, newest first.
func (s *Store) RecentTicks(ctx context.Context, dag string, sensor, limit int) ([]store.Tick, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, dag, sensor, member, started_at, duration, batches, messages, skipped, error, ranges
		FROM sensor_ticks WHERE dag = $1 AND sensor = $2 ORDER BY id DESC LIMIT $3`, dag, sensor, limit)
	if err != nil {
		return nil, fmt.Errorf("reading ticks of %s sensor %d: %w", dag, sensor, err)
	}
	defer rows.Close()
	var out []store.Tick
	for rows.Next() {
		var t store.Tick
		var start, dur int64
		var ranges string
		if err := rows.Scan(&t.ID, &t.DAG, &t.Sensor, &t.Member, &start, &dur, &t.Batches, &t.Messages, &t.Skipped, &t.Error, &ranges); err != nil {
			return nil, fmt.Errorf("reading ticks of %s sensor %d: %w", dag, sensor, err)
		}
		if t.Ranges, err = store.DecodeTickRanges(ranges); err != nil {
			return nil, fmt.Errorf("reading tick %d of %s sensor %d: %w", t.ID, dag, sensor, err)
		}
		t.Start, t.Duration = time.Unix(0, start), time.Duration(dur)
		out = append(out, t)
	}
	return out, rows.Err()
}

// BatchHighWater returns the highest offset of topic/partition that a run
// of dag carries (ok=false when none). Batches of one DAG never overlap, so
// the one with the highest first offset also ends highest; the unique
// index on (dag, topic, partition, first_offset, last_offset) answers in
// one seek.
func (s *Store) BatchHighWater(ctx context.Context, dag, topic string, partition int32) (int64, bool, error) {
	db, err := s.q()
	if err != nil {
		return 0, false, err
	}
	var last int64
	err = db.QueryRow(ctx, `SELECT last_offset FROM run_batches
		WHERE dag = $1 AND topic = $2 AND partition = $3 AND released_at IS NULL
		ORDER BY first_offset DESC LIMIT 1`, dag, topic, partition).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading batch offsets of %s/%d: %w", topic, partition, err)
	}
	return last, true, nil
}

// ReleaseBatches implements store.Interface.
func (s *Store) ReleaseBatches(ctx context.Context, dag, topic string, partition int32, from int64, at time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE run_batches SET released_at = $1
			WHERE dag = $2 AND topic = $3 AND partition = $4 AND last_offset >= $5 AND released_at IS NULL`,
			at.UnixNano(), dag, topic, partition, from)
		if err != nil {
			return fmt.Errorf("releasing batches of %s %s/%d from %d: %w", dag, topic, partition, from, err)
		}
		n = int(tag.RowsAffected())
		return nil
	})
	return n, err
}
