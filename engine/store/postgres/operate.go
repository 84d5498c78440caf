package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

var _ store.Operator = (*Store)(nil)

// lockRerun, for a re-run of orig, locks orig's row so that two instances
// re-running it at once queue one run: the second waits for the first's
// commit, then finds its run. It returns that run's id with
// store.ErrDuplicateRerun while it is queued or running.
func lockRerun(ctx context.Context, tx pgx.Tx, orig int64) (int64, error) {
	if orig == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, "SELECT id FROM runs WHERE id = $1 FOR UPDATE", orig); err != nil {
		return 0, fmt.Errorf("locking run %d: %w", orig, err)
	}
	var existing int64
	err := tx.QueryRow(ctx, "SELECT id FROM runs WHERE rerun_of = $1 AND state IN ('queued', 'running') ORDER BY id LIMIT 1",
		orig).Scan(&existing)
	if err == nil {
		return existing, fmt.Errorf("%w: run %d re-runs run %d", store.ErrDuplicateRerun, existing, orig)
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	return 0, nil
}

// nullID is NULL for 0.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// RecordAudit appends one operator action to the audit log.
func (s *Store) RecordAudit(ctx context.Context, e api.AuditEntry) (int64, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			e.At.UnixNano(), e.Actor, e.Action, e.Target, e.Outcome, e.Reason).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("recording %s of %s in the audit log: %w", e.Action, e.Target, err)
	}
	return id, nil
}

// AuditLog lists audit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	query := "SELECT id, at, actor, action, target, outcome, reason FROM audit_log WHERE at >= $1 ORDER BY at DESC, id DESC"
	var since int64
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := db.Query(ctx, query, since)
	if err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	defer rows.Close()
	var out []api.AuditEntry
	for rows.Next() {
		var e api.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Outcome, &e.Reason); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		e.At = time.Unix(0, at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the audit log: %w", err)
	}
	return out, nil
}

// Mark records an operator's verdict on a finished run (task empty) or on
// one of its tasks, as the SQLite store does: the run's state, or a new
// attempt row of the task. It reports whether anything changed. The run's
// row is locked, so two instances marking at once leave one change.
func (s *Store) Mark(ctx context.Context, runID int64, task string, state api.RunState, note string, at time.Time) (changed bool, err error) {
	if state != api.RunSuccess && state != api.RunFailed {
		return false, fmt.Errorf("marking run %d: state must be success or failed, not %q", runID, state)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		changed = false
		var cur api.RunState
		if err := tx.QueryRow(ctx, "SELECT state FROM runs WHERE id = $1 FOR UPDATE", runID).Scan(&cur); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("marking run %d: %w", runID, store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("marking run %d: %w", runID, err)
		}
		if !cur.Finished() {
			return fmt.Errorf("marking run %d (%s): %w: wait for it to finish or cancel it", runID, cur, api.ErrConflict)
		}
		if task == "" {
			if cur == state {
				return nil
			}
			if _, err := tx.Exec(ctx, "UPDATE runs SET state = $1, error = $2 WHERE id = $3", state, note, runID); err != nil {
				return fmt.Errorf("marking run %d: %w", runID, err)
			}
			changed = true
			return nil
		}
		var (
			attempt int
			curTask api.TaskState
		)
		err := tx.QueryRow(ctx, "SELECT attempt, state FROM task_attempts WHERE run_id = $1 AND task = $2 ORDER BY attempt DESC LIMIT 1",
			runID, task).Scan(&attempt, &curTask)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("marking task %q of run %d: %w", task, runID, store.ErrNoTask)
		}
		if err != nil {
			return fmt.Errorf("marking task %q of run %d: %w", task, runID, err)
		}
		if curTask == api.TaskState(state) {
			return nil
		}
		if err := putAttempts(ctx, tx, []store.Attempt{{RunID: runID, Task: task, Attempt: attempt + 1, State: api.TaskState(state),
			StartedAt: at, FinishedAt: at, Error: note}}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, err
}

// PauseDAG records a DAG as paused; it reports false when it already was
// (the first pause, its actor and time, stand).
func (s *Store) PauseDAG(ctx context.Context, dag string, p api.DAGPause) (changed bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO dag_pauses (dag, paused_by, paused_at, reason) VALUES ($1, $2, $3, $4)
			ON CONFLICT (dag) DO NOTHING`, dag, p.By, p.At.UnixNano(), p.Reason)
		if err != nil {
			return fmt.Errorf("pausing %q: %w", dag, err)
		}
		changed = tag.RowsAffected() == 1
		return nil
	})
	return changed, err
}

// UnpauseDAG forgets a DAG's pause; it reports false when it was not paused.
func (s *Store) UnpauseDAG(ctx context.Context, dag string) (changed bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM dag_pauses WHERE dag = $1", dag)
		if err != nil {
			return fmt.Errorf("unpausing %q: %w", dag, err)
		}
		changed = tag.RowsAffected() == 1
		return nil
	})
	return changed, err
}

// PausedDAGs returns every paused DAG's pause.
func (s *Store) PausedDAGs(ctx context.Context) (map[string]api.DAGPause, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT dag, paused_by, paused_at, reason FROM dag_pauses")
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading paused dags: %w", err)
	}
	return out, nil
}
