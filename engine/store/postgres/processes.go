package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// RecordProcess commits a task attempt's process group.
func (s *Store) RecordProcess(ctx context.Context, p store.TaskProcess) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO task_processes (run_id, task, attempt, pgid, start_ticks) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (run_id, task, attempt) DO UPDATE SET pgid = excluded.pgid, start_ticks = excluded.start_ticks`,
			p.RunID, p.Task, p.Attempt, p.PGID, p.StartTicks)
		if err != nil {
			return fmt.Errorf("recording process group %d of task %q of run %d: %w", p.PGID, p.Task, p.RunID, err)
		}
		return nil
	})
}

// ClearProcess forgets an attempt's process group once the process ended.
func (s *Store) ClearProcess(ctx context.Context, runID int64, task string, attempt int) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM task_processes WHERE run_id = $1 AND task = $2 AND attempt = $3", runID, task, attempt)
		if err != nil {
			return fmt.Errorf("clearing process group of task %q of run %d: %w", task, runID, err)
		}
		return nil
	})
}

// RunningProcesses lists the process groups recorded for attempts of runs
// still marked running.
func (s *Store) RunningProcesses(ctx context.Context) ([]store.TaskProcess, error) {
	return s.processes(ctx, "r.state = 'running'")
}

// RunProcesses lists the process groups recorded for a run's attempts,
// whatever its state.
func (s *Store) RunProcesses(ctx context.Context, runID int64) ([]store.TaskProcess, error) {
	return s.processes(ctx, "r.id = $1", runID)
}

func (s *Store) processes(ctx context.Context, where string, args ...any) ([]store.TaskProcess, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT p.run_id, p.task, p.attempt, p.pgid, p.start_ticks
		FROM task_processes p JOIN runs r ON r.id = p.run_id
		WHERE `+where+` ORDER BY p.run_id, p.task, p.attempt`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing task processes: %w", err)
	}
	defer rows.Close()
	var ps []store.TaskProcess
	for rows.Next() {
		var p store.TaskProcess
		if err := rows.Scan(&p.RunID, &p.Task, &p.Attempt, &p.PGID, &p.StartTicks); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}
