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

// Aliases of the contract's claim types, for callers of this package.
type (
	Instance = store.Instance
	Claim    = store.Claim
)

// ErrFenced is store.ErrFenced.
var ErrFenced = store.ErrFenced

// Register records an instance as started (again, when its id is reused).
func (s *Store) Register(ctx context.Context, in store.Instance) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO instances (id, host, pid, started_at, last_heartbeat) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
				last_heartbeat = excluded.last_heartbeat, stopped_at = NULL, reaped_at = NULL`,
			in.ID, in.Host, in.PID, in.StartedAt.UnixNano())
		if err != nil {
			return fmt.Errorf("registering instance %s: %w", in.ID, err)
		}
		return nil
	})
}

// Heartbeat moves an instance's last heartbeat to at, never backwards, and
// revives it if it was reaped (its old claims stay fenced).
func (s *Store) Heartbeat(ctx context.Context, id string, at time.Time) error {
	db, err := s.q()
	if err != nil {
		return err
	}
	tag, err := db.Exec(ctx, "UPDATE instances SET last_heartbeat = GREATEST(last_heartbeat, $2), reaped_at = NULL WHERE id = $1", id, at.UnixNano())
	if err != nil {
		return fmt.Errorf("heartbeat of instance %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("heartbeat of instance %s: not registered", id)
	}
	return nil
}

// Deregister marks an instance stopped (a clean shutdown).
func (s *Store) Deregister(ctx context.Context, id string, at time.Time) error {
	db, err := s.q()
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, "UPDATE instances SET stopped_at = $2 WHERE id = $1", id, at.UnixNano())
	return err
}

// Instances lists every registered instance, oldest start first.
func (s *Store) Instances(ctx context.Context) ([]store.Instance, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT id, host, pid, started_at, last_heartbeat, stopped_at, reaped_at FROM instances ORDER BY started_at, id")
	if err != nil {
		return nil, fmt.Errorf("listing instances: %w", err)
	}
	defer rows.Close()
	var out []store.Instance
	for rows.Next() {
		var in store.Instance
		var started, beat int64
		var stopped, reaped *int64
		if err := rows.Scan(&in.ID, &in.Host, &in.PID, &started, &beat, &stopped, &reaped); err != nil {
			return nil, fmt.Errorf("listing instances: %w", err)
		}
		in.StartedAt, in.LastHeartbeat, in.StoppedAt, in.ReapedAt = time.Unix(0, started), time.Unix(0, beat), goTime(stopped), goTime(reaped)
		out = append(out, in)
	}
	return out, rows.Err()
}

// claimLock is the advisory lock key of the claim path
// (transaction-scoped): "slcglob".
const claimLock int64 = 0x736c63676c6f62

// ClaimRuns takes up to max queued runs for instance within lim, counted
// over every instance.
//
// Counting and claiming are serialised by one transaction-scoped advisory
// lock, so the running counts a claimer reads include every claim
// committed before it: global, per-DAG and tag limits hold across
// instances. Queued rows are read FOR UPDATE SKIP LOCKED, so a claimer
// never waits on a row another transaction holds (a cancel, a reaper) and
// no run is taken twice. Several runs are claimed per transaction, which
// is what keeps the lock from bounding throughput.
func (s *Store) ClaimRuns(ctx context.Context, instance string, at time.Time, lim store.ClaimLimits, max int) ([]store.Claim, string, error) {
	var (
		claims []store.Claim
		wait   string
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		claims, wait = claims[:0], ""
		// Nothing queued: no lock, no write.
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM runs WHERE state = 'queued')").Scan(&any); err != nil {
			return err
		}
		if !any {
			return nil
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", claimLock); err != nil {
			return err
		}
		running := map[string]int{}
		rows, err := tx.Query(ctx, "SELECT dag, count(*) FROM runs WHERE state = 'running' GROUP BY dag")
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
		plan := store.NewClaimPlan(lim, running, max)
		var afterPrio int
		var afterID int64
		first := true
		for {
			rows, err := tx.Query(ctx, `SELECT id, dag, priority FROM runs WHERE state = 'queued' AND NOT (dag = ANY($1))
				AND ($2 OR priority < $3 OR (priority = $3 AND id > $4))
				ORDER BY priority DESC, id LIMIT $5 FOR UPDATE SKIP LOCKED`, plan.Blocked, first, afterPrio, afterID, store.ClaimPage)
			if err != nil {
				return err
			}
			var page []store.ClaimCandidate
			for rows.Next() {
				var c store.ClaimCandidate
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
			if !plan.Offer(page) || len(page) < store.ClaimPage {
				break
			}
		}
		wait = plan.Wait
		if len(plan.Picks) == 0 {
			return nil
		}
		tokens := map[int64]int64{}
		rows, err = tx.Query(ctx, `UPDATE runs SET state = 'running', started_at = $2, instance = $3, claim = claim + 1, adopted = TRUE
			WHERE id = ANY($1) AND state = 'queued' RETURNING id, claim`, plan.Picks, at.UnixNano(), instance)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, token int64
			if err := rows.Scan(&id, &token); err != nil {
				rows.Close()
				return err
			}
			tokens[id] = token
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		runs, err := queryRuns(ctx, tx, "WHERE r.id = ANY($1) ORDER BY r.priority DESC, r.id", plan.Picks)
		if err != nil {
			return err
		}
		for _, r := range runs {
			claims = append(claims, store.Claim{Run: r, Token: tokens[r.ID]})
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("claiming runs for instance %s: %w", instance, err)
	}
	return claims, wait, nil
}

// holds checks inside tx that c is still the run's claim, and keeps it so
// (FOR SHARE) until tx ends: a reaper settling the run waits for this
// write, and this write never lands after the reaper's.
func holds(ctx context.Context, tx pgx.Tx, c store.ClaimRef) error {
	var one int
	err := tx.QueryRow(ctx, "SELECT 1 FROM runs WHERE id = $1 AND instance = $2 AND claim = $3 AND state = 'running' FOR SHARE",
		c.RunID, c.Instance, c.Token).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("writing run %d as instance %s (claim %d): %w", c.RunID, c.Instance, c.Token, store.ErrFenced)
	}
	return err
}

// PutClaimedAttempts stores task rows while the claim holds.
func (s *Store) PutClaimedAttempts(ctx context.Context, c store.ClaimRef, as []store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := holds(ctx, tx, c); err != nil {
			return err
		}
		return putAttempts(ctx, tx, as)
	})
}

// FinishClaimed settles a claimed run like FinishRun, only while the claim
// still holds: ErrFenced when another instance has settled the run since,
// and nothing is written.
func (s *Store) FinishClaimed(ctx context.Context, c store.ClaimRef, state api.RunState, errMsg string, at time.Time, settle []store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE runs SET state = $1, error = $2, finished_at = $3
			WHERE id = $4 AND instance = $5 AND claim = $6 AND state = 'running'`, state, errMsg, at.UnixNano(), c.RunID, c.Instance, c.Token)
		if err != nil {
			return fmt.Errorf("finishing run %d: %w", c.RunID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("finishing run %d as instance %s (claim %d): %w", c.RunID, c.Instance, c.Token, store.ErrFenced)
		}
		return putAttempts(ctx, tx, settle)
	})
}

// ReleaseClaims settles instance's running runs as interrupted (its clean
// stop).
func (s *Store) ReleaseClaims(ctx context.Context, instance string, at time.Time, retry func(store.Run) bool) ([]store.Interrupted, error) {
	var out []store.Interrupted
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = recoverWhere(ctx, tx, at, retry, "AND r.instance = $1", instance)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("releasing the runs of instance %s: %w", instance, err)
	}
	return out, nil
}

// ReapDead settles the running runs of instances whose heartbeat is older
// than lease, and marks those instances reaped, in one transaction. Dead
// instances' rows are taken FOR UPDATE SKIP LOCKED: of two reapers that
// notice together, one takes each instance and the other skips it (and
// sees it reaped once the first commits), so each run is settled, and
// re-queued, exactly once.
func (s *Store) ReapDead(ctx context.Context, self string, at time.Time, lease time.Duration, retry func(store.Run) bool) ([]store.Interrupted, error) {
	var out []store.Interrupted
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `SELECT id FROM instances WHERE id <> $1 AND stopped_at IS NULL AND reaped_at IS NULL
			AND last_heartbeat < $2 FOR UPDATE SKIP LOCKED`, self, at.Add(-lease).UnixNano())
		if err != nil {
			return err
		}
		var dead []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			dead = append(dead, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(dead) == 0 {
			return nil
		}
		out, err = recoverWhere(ctx, tx, at, retry, "AND r.instance = ANY($1)", dead)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE instances SET reaped_at = $2 WHERE id = ANY($1)", dead, at.UnixNano())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reaping dead instances: %w", err)
	}
	return out, nil
}
