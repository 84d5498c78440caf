package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Mark records an operator's verdict on a finished run (task empty) or on
// one of its tasks: the run's state, or a new attempt row of the task, is
// set to state with note as its error text. It reports whether anything
// changed: marking a run success that already is one changes nothing, so
// two consoles marking at once leave one change. A run not finished is
// api.ErrConflict; an unknown run ErrNotFound.
func (s *Store) Mark(ctx context.Context, runID int64, task string, state api.RunState, note string, at time.Time) (changed bool, err error) {
	if state != api.RunSuccess && state != api.RunFailed {
		return false, fmt.Errorf("marking run %d: state must be success or failed, not %q", runID, state)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		changed = false
		var cur api.RunState
		if err := tx.QueryRowContext(ctx, "SELECT state FROM runs WHERE id = ?", runID).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("marking run %d: %w", runID, ErrNotFound)
		} else if err != nil {
			return err
		}
		if !cur.Finished() {
			return fmt.Errorf("marking run %d (%s): %w: wait for it to finish or cancel it", runID, cur, api.ErrConflict)
		}
		if task == "" {
			if cur == state {
				return nil
			}
			if _, err := tx.ExecContext(ctx, "UPDATE runs SET state = ?, error = ? WHERE id = ?", state, note, runID); err != nil {
				return fmt.Errorf("marking run %d: %w", runID, err)
			}
			changed = true
			return nil
		}
		var (
			attempt  int
			curTask  api.TaskState
			attempts int
		)
		err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(attempt), 0),
			coalesce((SELECT state FROM task_attempts WHERE run_id = ?1 AND task = ?2 ORDER BY attempt DESC LIMIT 1), '')
			FROM task_attempts WHERE run_id = ?1 AND task = ?2`, runID, task).Scan(&attempts, &attempt, &curTask)
		if err != nil {
			return fmt.Errorf("marking task %q of run %d: %w", task, runID, err)
		}
		if attempts == 0 {
			return fmt.Errorf("marking task %q of run %d: %w", task, runID, ErrNoTask)
		}
		if curTask == api.TaskState(state) {
			return nil
		}
		if err := s.putAttempt(ctx, tx, Attempt{RunID: runID, Task: task, Attempt: attempt + 1, State: api.TaskState(state),
			StartedAt: at, FinishedAt: at, Error: note}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, err
}

// ErrNoTask: the run has no such task.
var ErrNoTask = errors.New("no such task in the run")

// PauseDAG records a DAG as paused; it reports false when it already was
// (the first pause, its actor and time, stand).
func (s *Store) PauseDAG(ctx context.Context, dag string, p api.DAGPause) (changed bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO dag_pauses (dag, paused_by, paused_at, reason) VALUES (?, ?, ?, ?)
			ON CONFLICT (dag) DO NOTHING`, dag, p.By, p.At.UnixNano(), p.Reason)
		if err != nil {
			return fmt.Errorf("pausing %q: %w", dag, err)
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		return nil
	})
	return changed, err
}

// UnpauseDAG forgets a DAG's pause; it reports false when it was not paused.
func (s *Store) UnpauseDAG(ctx context.Context, dag string) (changed bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM dag_pauses WHERE dag = ?", dag)
		if err != nil {
			return fmt.Errorf("unpausing %q: %w", dag, err)
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		return nil
	})
	return changed, err
}

// PausedDAGs returns every paused DAG's pause.
func (s *Store) PausedDAGs(ctx context.Context) (map[string]api.DAGPause, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT dag, paused_by, paused_at, reason FROM dag_pauses")
	if err != nil {
		return nil, fmt.Errorf("reading paused dags: %w", err)
	}
	defer rows.Close()
	out := map[string]api.DAGPause{}
	for rows.Next() {
		var (
			name string
			p    api.DAGPause
			at   int64
		)
		if err := rows.Scan(&name, &p.By, &at, &p.Reason); err != nil {
			return nil, fmt.Errorf("reading paused dags: %w", err)
		}
		p.At = time.Unix(0, at)
		out[name] = p
	}
	return out, rows.Err()
}
