package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// ClaimRuns takes up to max queued runs the limits allow, in one write of
// the group commit: one process writes the file at a time, so the counts
// it reads are the ones it claims against.
func (s *Store) ClaimRuns(ctx context.Context, instance string, at time.Time, lim ClaimLimits, max int) ([]Claim, string, error) {
	var (
		claims []Claim
		wait   string
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		claims, wait = claims[:0], ""
		running := map[string]int{}
		rows, err := tx.QueryContext(ctx, "SELECT dag, count(*) FROM runs WHERE state = 'running' GROUP BY dag")
		if err != nil {
			return err
		}
		for rows.Next() {
			var dag string
			var n int
			if err := rows.Scan(&dag, &n); err != nil {
				rows.Close()
				return err
			}
			running[dag] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		plan := NewClaimPlan(lim, running, max)
		afterPrio, afterID := 0, int64(0)
		first := true
		for {
			q := "SELECT id, dag, priority FROM runs WHERE state = 'queued'"
			var args []any
			if !first {
				q += " AND (priority < ? OR (priority = ? AND id > ?))"
				args = append(args, afterPrio, afterPrio, afterID)
			}
			if len(plan.Blocked) > 0 {
				q += " AND dag NOT IN (?" + strings.Repeat(", ?", len(plan.Blocked)-1) + ")"
				for _, d := range plan.Blocked {
					args = append(args, d)
				}
			}
			q += fmt.Sprintf(" ORDER BY priority DESC, id LIMIT %d", ClaimPage)
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			var page []ClaimCandidate
			for rows.Next() {
				var c ClaimCandidate
				if err := rows.Scan(&c.ID, &c.DAG, &afterPrio); err != nil {
					rows.Close()
					return err
				}
				afterID = c.ID
				page = append(page, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			first = false
			if !plan.Offer(page) || len(page) < ClaimPage {
				break
			}
		}
		wait = plan.Wait
		for _, id := range plan.Picks {
			var token int64
			if err := tx.QueryRowContext(ctx, `UPDATE runs SET state = 'running', started_at = ?, instance = ?, claim = claim + 1, adopted = 1
				WHERE id = ? AND state = 'queued' RETURNING claim`, at.UnixNano(), instance, id).Scan(&token); err != nil {
				return fmt.Errorf("claiming run %d: %w", id, err)
			}
			r, err := scanRun(tx.QueryRowContext(ctx, "SELECT "+runColumns+runFrom+"WHERE r.id = ?", id))
			if err != nil {
				return err
			}
			claims = append(claims, Claim{Run: r, Token: token})
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("claiming runs for instance %s: %w", instance, err)
	}
	return claims, wait, nil
}

// holds reports whether c is still the run's claim, inside a write.
func holds(ctx context.Context, tx *sql.Tx, c ClaimRef) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM runs WHERE id = ? AND instance = ? AND claim = ? AND state = 'running'",
		c.RunID, c.Instance, c.Token).Scan(&one)
	if err == sql.ErrNoRows {
		return fmt.Errorf("writing run %d as instance %s (claim %d): %w", c.RunID, c.Instance, c.Token, ErrFenced)
	}
	return err
}

// SetClaimedVersion records the version a claimed run runs, if it has none.
func (s *Store) SetClaimedVersion(ctx context.Context, c ClaimRef, version int) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := holds(ctx, tx, c); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE runs SET dag_version = ? WHERE id = ? AND dag_version IS NULL", version, c.RunID)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the dag version of run %d: %w", c.RunID, err)
	}
	return nil
}

// PutClaimedAttempts stores task rows while the claim holds.
func (s *Store) PutClaimedAttempts(ctx context.Context, c ClaimRef, as []Attempt) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := holds(ctx, tx, c); err != nil {
			return err
		}
		for _, a := range as {
			if err := s.putAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// FinishClaimed settles a claimed run while the claim holds.
func (s *Store) FinishClaimed(ctx context.Context, c ClaimRef, state api.RunState, errMsg string, at time.Time, settle []Attempt) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE runs SET state = ?, error = ?, finished_at = ?
			WHERE id = ? AND instance = ? AND claim = ? AND state = 'running'`, state, errMsg, at.UnixNano(), c.RunID, c.Instance, c.Token)
		if err != nil {
			return fmt.Errorf("finishing run %d: %w", c.RunID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("finishing run %d as instance %s (claim %d): %w", c.RunID, c.Instance, c.Token, ErrFenced)
		}
		for _, a := range settle {
			if err := s.putAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseClaims settles instance's running runs as interrupted.
func (s *Store) ReleaseClaims(ctx context.Context, instance string, at time.Time, retry func(Run) bool) ([]Interrupted, error) {
	return s.recoverWhere(ctx, at, retry, "AND r.instance = ?", instance)
}

// ReapDead settles every running run not claimed by self: one process
// holds the state dir, so any other claimer is gone. lease only decides
// which other instances are recorded as dead.
func (s *Store) ReapDead(ctx context.Context, self string, at time.Time, lease time.Duration, retry func(Run) bool) ([]Interrupted, error) {
	out, err := s.recoverWhere(ctx, at, retry, "AND r.instance <> ?", self)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE instances SET reaped_at = ? WHERE id <> ? AND stopped_at IS NULL AND reaped_at IS NULL AND last_heartbeat < ?",
			at.UnixNano(), self, at.Add(-lease).UnixNano())
		return err
	})
	return out, err
}

// Register records an instance as started.
func (s *Store) Register(ctx context.Context, in Instance) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO instances (id, host, pid, started_at, last_heartbeat) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
				last_heartbeat = excluded.last_heartbeat, stopped_at = NULL, reaped_at = NULL`,
			in.ID, in.Host, in.PID, in.StartedAt.UnixNano(), in.StartedAt.UnixNano())
		if err != nil {
			return fmt.Errorf("registering instance %s: %w", in.ID, err)
		}
		return nil
	})
}

// Heartbeat moves an instance's last heartbeat to at, never backwards.
func (s *Store) Heartbeat(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE instances SET last_heartbeat = max(last_heartbeat, ?), reaped_at = NULL WHERE id = ?", at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("heartbeat of instance %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("heartbeat of instance %s: not registered", id)
		}
		return nil
	})
}

// Deregister marks an instance stopped.
func (s *Store) Deregister(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE instances SET stopped_at = ? WHERE id = ?", at.UnixNano(), id)
		return err
	})
}

// Instances lists every registered instance, oldest start first.
func (s *Store) Instances(ctx context.Context) ([]Instance, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, host, pid, started_at, last_heartbeat, stopped_at, reaped_at FROM instances ORDER BY started_at, id")
	if err != nil {
		return nil, fmt.Errorf("listing instances: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		var in Instance
		var started, beat int64
		var stopped, reaped sql.NullInt64
		if err := rows.Scan(&in.ID, &in.Host, &in.PID, &started, &beat, &stopped, &reaped); err != nil {
			return nil, fmt.Errorf("listing instances: %w", err)
		}
		in.StartedAt, in.LastHeartbeat, in.StoppedAt, in.ReapedAt = time.Unix(0, started), time.Unix(0, beat), goTime(stopped), goTime(reaped)
		out = append(out, in)
	}
	return out, rows.Err()
}
