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

// Tick is one Kafka sensor tick (table sensor_ticks, migration 0002).
type Tick struct {
	ID       int64
	DAG      string
	Sensor   int // index in the DAG's sensors list
	Member   int // replica that ticked
	Start    time.Time
	Duration time.Duration
	Batches  int
	Messages int
	Skipped  string
	Error    string
	// Ranges are the batches the tick persisted (migration 0007).
	Ranges []api.TickRange
}

// TicksKept is how many ticks per sensor the store keeps; older ones are
// pruned as new ones arrive.
const TicksKept = 1000

// EncodeTickRanges is how both stores keep a tick's ranges: a JSON array,
// "" for none. They are shown, never queried.
func EncodeTickRanges(rs []api.TickRange) (string, error) {
	if len(rs) == 0 {
		return "", nil
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return "", fmt.Errorf("encoding tick ranges: %w", err)
	}
	return string(b), nil
}

// DecodeTickRanges reads what EncodeTickRanges wrote.
func DecodeTickRanges(s string) ([]api.TickRange, error) {
	if s == "" {
		return nil, nil
	}
	var rs []api.TickRange
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return nil, fmt.Errorf("decoding tick ranges: %w", err)
	}
	return rs, nil
}

// RecordTick appends a tick and returns its id.
func (s *Store) RecordTick(ctx context.Context, t Tick) (int64, error) {
	var id int64
	ranges, err := EncodeTickRanges(t.Ranges)
	if err != nil {
		return 0, fmt.Errorf("recording tick of %s sensor %d: %w", t.DAG, t.Sensor, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO sensor_ticks
			(dag, sensor, member, started_at, duration, batches, messages, skipped, error, ranges)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.DAG, t.Sensor, t.Member, t.Start.UnixNano(), int64(t.Duration), t.Batches, t.Messages, t.Skipped, t.Error, ranges)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		// Prune now and then rather than on every insert: one indexed
		// delete per hundred ticks keeps the table bounded.
		if id%100 == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM sensor_ticks WHERE dag = ? AND sensor = ? AND id <=
				(SELECT id FROM sensor_ticks WHERE dag = ? AND sensor = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
				t.DAG, t.Sensor, t.DAG, t.Sensor, TicksKept)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("recording tick of %s sensor %d: %w", t.DAG, t.Sensor, err)
	}
	return id, nil
}

// RecentTicks returns the newest ticks of one sensor, newest first.
func (s *Store) RecentTicks(ctx context.Context, dag string, sensor, limit int) ([]Tick, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, dag, sensor, member, started_at, duration, batches, messages, skipped, error, ranges
		FROM sensor_ticks WHERE dag = ? AND sensor = ? ORDER BY id DESC LIMIT ?`, dag, sensor, limit)
	if err != nil {
		return nil, fmt.Errorf("reading ticks of %s sensor %d: %w", dag, sensor, err)
	}
	defer rows.Close()
	var out []Tick
	for rows.Next() {
		var t Tick
		var start, dur int64
		var ranges string
		if err := rows.Scan(&t.ID, &t.DAG, &t.Sensor, &t.Member, &start, &dur, &t.Batches, &t.Messages, &t.Skipped, &t.Error, &ranges); err != nil {
			return nil, fmt.Errorf("reading ticks of %s sensor %d: %w", dag, sensor, err)
		}
		if t.Ranges, err = DecodeTickRanges(ranges); err != nil {
			return nil, fmt.Errorf("reading tick %d of %s sensor %d: %w", t.ID, dag, sensor, err)
		}
		t.Start, t.Duration = time.Unix(0, start), time.Duration(dur)
		out = append(out, t)
	}
	return out, rows.Err()
}

// BatchHighWater returns the highest offset of topic/partition that a run
// of dag carries (ok=false when none). A sensor trims a re-delivered batch
// by it: after a crash between persisting and committing, Kafka hands back
// records that are already in a run, cut at different boundaries.
//
// Live batches of one DAG never overlap, so the batch with the highest
// first offset also has the highest last offset, and the partial unique
// index on (dag, topic, partition, first_offset, last_offset) answers in
// one seek. (A batch's dag is its run's since migration 0008.)
func (s *Store) BatchHighWater(ctx context.Context, dag, topic string, partition int32) (int64, bool, error) {
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT last_offset FROM run_batches
		WHERE dag = ? AND topic = ? AND partition = ? AND released_at IS NULL
		ORDER BY first_offset DESC LIMIT 1`, dag, topic, partition).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading batch offsets of %s/%d: %w", topic, partition, err)
	}
	return last, true, nil
}

// ReleaseBatches implements Interface.
func (s *Store) ReleaseBatches(ctx context.Context, dag, topic string, partition int32, from int64, at time.Time) (n int, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE run_batches SET released_at = ?
			WHERE dag = ? AND topic = ? AND partition = ? AND last_offset >= ? AND released_at IS NULL`,
			at.UnixNano(), dag, topic, partition, from)
		if err != nil {
			return fmt.Errorf("releasing batches of %s %s/%d from %d: %w", dag, topic, partition, from, err)
		}
		m, _ := res.RowsAffected()
		n = int(m)
		return nil
	})
	return n, err
}
