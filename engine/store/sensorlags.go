package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// SensorLag is a Kafka sensor's latest lag reading as the engine running
// it saw it: what `sluice status` shows from another process, where the
// consumer lag and its Burrow status (a window of readings) are unknown.
type SensorLag struct {
	DAG    string
	Sensor int
	Status api.SensorStatus
	// LagStatus is the group's Burrow status; "" and TotalLag -1 before
	// the lag monitor's first reading.
	LagStatus api.LagStatus
	TotalLag  int64
	Reason    string // the rule that decided LagStatus
	Error     string // the sensor's own error
	Instance  string // the instance that recorded it
	// At is when the reading was taken: its age says whether an engine
	// still vouches for it.
	At time.Time
}

// SensorLags keeps each sensor's latest lag reading.
type SensorLags interface {
	// RecordSensorLags stores each reading as its sensor's latest, in one
	// transaction; one older (At) than the reading stored is dropped, so
	// instances reading one group write in any order.
	RecordSensorLags(ctx context.Context, ls []SensorLag) error
	// SensorLags returns every sensor's latest reading, by DAG and sensor.
	SensorLags(ctx context.Context) ([]SensorLag, error)
}

// RecordSensorLagQuery is one reading's upsert in SQL both dialects read
// ($1 dag, $2 sensor, $3 status, $4 lag status, $5 total lag, $6 reason,
// $7 error, $8 instance, $9 at in Unix ns).
const RecordSensorLagQuery = `INSERT INTO sensor_lags (dag, sensor, status, lag_status, total_lag, reason, error, instance, at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
	ON CONFLICT (dag, sensor) DO UPDATE SET status = excluded.status, lag_status = excluded.lag_status,
		total_lag = excluded.total_lag, reason = excluded.reason, error = excluded.error,
		instance = excluded.instance, at = excluded.at
	WHERE sensor_lags.at <= excluded.at`

// SensorLagsQuery lists the readings in SQL both dialects read.
const SensorLagsQuery = `SELECT dag, sensor, status, lag_status, total_lag, reason, error, instance, at
	FROM sensor_lags ORDER BY dag, sensor`

// SensorLagArgs are l's arguments to RecordSensorLagQuery.
func SensorLagArgs(l SensorLag) []any {
	return []any{l.DAG, l.Sensor, string(l.Status), string(l.LagStatus), l.TotalLag, l.Reason, l.Error, l.Instance, l.At.UnixNano()}
}

// SensorLagScanner is the one method of a row both drivers share.
type SensorLagScanner interface{ Scan(dest ...any) error }

// ScanSensorLag reads one row of SensorLagsQuery.
func ScanSensorLag(row SensorLagScanner) (SensorLag, error) {
	var l SensorLag
	var status, lagStatus string
	var sensor int32
	var at int64
	if err := row.Scan(&l.DAG, &sensor, &status, &lagStatus, &l.TotalLag, &l.Reason, &l.Error, &l.Instance, &at); err != nil {
		return SensorLag{}, err
	}
	l.Sensor, l.Status, l.LagStatus, l.At = int(sensor), api.SensorStatus(status), api.LagStatus(lagStatus), time.Unix(0, at)
	return l, nil
}

// RecordSensorLags stores the readings in one transaction.
func (s *Store) RecordSensorLags(ctx context.Context, ls []SensorLag) error {
	if len(ls) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, l := range ls {
			if _, err := tx.ExecContext(ctx, RecordSensorLagQuery, SensorLagArgs(l)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording sensor lags: %w", err)
	}
	return nil
}

// SensorLags returns every sensor's latest reading.
func (s *Store) SensorLags(ctx context.Context) ([]SensorLag, error) {
	rows, err := s.db.QueryContext(ctx, SensorLagsQuery)
	if err != nil {
		return nil, fmt.Errorf("reading sensor lags: %w", err)
	}
	defer rows.Close()
	var out []SensorLag
	for rows.Next() {
		l, err := ScanSensorLag(rows)
		if err != nil {
			return nil, fmt.Errorf("reading sensor lags: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading sensor lags: %w", err)
	}
	return out, nil
}
