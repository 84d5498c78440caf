package store

import (
	"context"
	"database/sql"
	"fmt"
)

// TaskProcess is the process group a task attempt started, recorded while
// it runs. StartTicks guards against pid reuse: the group leader's start
// time (Linux clock ticks since boot), 0 where the platform has none.
type TaskProcess struct {
	RunID      int64
	Task       string
	Attempt    int
	PGID       int
	StartTicks int64
}

// RecordProcess commits a task attempt's process group.
func (s *Store) RecordProcess(ctx context.Context, p TaskProcess) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO task_processes (run_id, task, attempt, pgid, start_ticks) VALUES (?, ?, ?, ?, ?)
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
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "DELETE FROM task_processes WHERE run_id = ? AND task = ? AND attempt = ?", runID, task, attempt)
		if err != nil {
			return fmt.Errorf("clearing process group of task %q of run %d: %w", task, runID, err)
		}
		return nil
	})
}

// RunningProcesses lists the process groups recorded for attempts of runs
// still marked running: after a crash, the tasks the dead engine may have
// left behind. Recover forgets them.
func (s *Store) RunningProcesses(ctx context.Context) ([]TaskProcess, error) {
	return s.processes(ctx, "r.state = 'running'")
}

// RunProcesses lists the process groups recorded for a run's attempts,
// whatever its state.
func (s *Store) RunProcesses(ctx context.Context, runID int64) ([]TaskProcess, error) {
	return s.processes(ctx, "r.id = ?", runID)
}

func (s *Store) processes(ctx context.Context, where string, args ...any) ([]TaskProcess, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.run_id, p.task, p.attempt, p.pgid, p.start_ticks
		FROM task_processes p JOIN runs r ON r.id = p.run_id
		WHERE `+where+` ORDER BY p.run_id, p.task, p.attempt`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing task processes: %w", err)
	}
	defer rows.Close()
	var ps []TaskProcess
	for rows.Next() {
		var p TaskProcess
		if err := rows.Scan(&p.RunID, &p.Task, &p.Attempt, &p.PGID, &p.StartTicks); err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}
