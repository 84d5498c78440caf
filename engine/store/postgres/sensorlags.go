package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// RecordSensorLags stores the readings in one transaction, in sensor
// order: instances upserting the same sensors lock their rows in one
// order, so they never deadlock.
func (s *Store) RecordSensorLags(ctx context.Context, ls []store.SensorLag) error {
	if len(ls) == 0 {
		return nil
	}
	sorted := slices.Clone(ls)
	slices.SortFunc(sorted, func(a, b store.SensorLag) int {
		if c := strings.Compare(a.DAG, b.DAG); c != 0 {
			return c
		}
		return a.Sensor - b.Sensor
	})
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, l := range sorted {
			b.Queue(store.RecordSensorLagQuery, store.SensorLagArgs(l)...)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("recording sensor lags: %w", err)
	}
	return nil
}

// SensorLags returns every sensor's latest reading.
func (s *Store) SensorLags(ctx context.Context) ([]store.SensorLag, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, store.SensorLagsQuery)
	if err != nil {
		return nil, fmt.Errorf("reading sensor lags: %w", err)
	}
	defer rows.Close()
	var out []store.SensorLag
	for rows.Next() {
		l, err := store.ScanSensorLag(rows)
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
