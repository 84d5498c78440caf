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

// Instance is one Sluice process sharing the database.
type Instance struct {
	ID            string
	Host          string
	PID           int
	StartedAt     time.Time
	LastHeartbeat time.Time
	StoppedAt     time.Time // zero while it runs
}

// ErrFenced: the run is no longer this instance's claim (another instance
// took it over after this one's lease ran out); the write was refused.
var ErrFenced = errors.New("run claimed by another instance")

// Register records an instance as started (again, when its id is reused).
func (s *Store) Register(ctx context.Context, in Instance) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO instances (id, host, pid, started_at, last_heartbeat) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
				last_heartbeat = excluded.last_heartbeat, stopped_at = NULL`,
			in.ID, in.Host, in.PID, in.StartedAt.UnixNano())
		if err != nil {
			return fmt.Errorf("registering instance %s: %w", in.ID, err)
		}
		return nil
	})
}

// Heartbeat moves an instance's last heartbeat to at; never backwards.
func (s *Store) Heartbeat(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE instances SET last_heartbeat = GREATEST(last_heartbeat, $2) WHERE id = $1", id, at.UnixNano())
		if err != nil {
			return fmt.Errorf("heartbeat of instance %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("heartbeat of instance %s: not registered", id)
		}
		return nil
	})
}

// Deregister marks an instance stopped (a clean shutdown).
func (s *Store) Deregister(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE instances SET stopped_at = $2 WHERE id = $1", id, at.UnixNano())
		return err
	})
}

// Instances lists every registered instance, oldest start first.
func (s *Store) Instances(ctx context.Context) ([]Instance, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT id, host, pid, started_at, last_heartbeat, stopped_at FROM instances ORDER BY started_at, id")
	if err != nil {
		return nil, fmt.Errorf("listing instances: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		var in Instance
		var started, beat int64
		var stopped *int64
		if err := rows.Scan(&in.ID, &in.Host, &in.PID, &started, &beat, &stopped); err != nil {
			return nil, fmt.Errorf("listing instances: %w", err)
		}
		in.StartedAt, in.LastHeartbeat, in.StoppedAt = time.Unix(0, started), time.Unix(0, beat), goTime(stopped)
		out = append(out, in)
	}
	return out, rows.Err()
}

// Limits bound the runs running across every instance. Zero means no
// bound.
type Limits struct {
	MaxConcurrentRuns int
	// MaxActiveRuns bounds the running runs of each DAG named.
	MaxActiveRuns map[string]int
}

// Claim is a run an instance took, and the claim number its later writes
// must present.
type Claim struct {
	Run      store.Run
	Instance string
	Token    int64
}

// Wait reasons ClaimNext gives when it takes nothing although runs are
// queued.
const (
	WaitMaxConcurrentRuns = "max_concurrent_runs"
	WaitMaxActiveRuns     = "max_active_runs"
)

// Advisory lock keys of the claim path (transaction-scoped).
const (
	claimGlobalLock int64 = 0x736c63676c6f62 // "slcglob"
	claimDAGLock    int32 = 0x736c6364       // "slcd": class of the per-DAG locks
)

// ClaimNext takes the next queued run (highest priority, then oldest) for
// instance, moving it to running with the instance and a new claim token,
// within lim counted over every instance. ok=false with no run: nothing is
// queued, or wait says which limit holds every queued run back.
//
// Queued rows are taken FOR UPDATE SKIP LOCKED, so claimers never wait on
// each other's candidates and no run is taken twice. Counting and claiming
// under a limit are serialised by transaction-scoped advisory locks (one
// for the global bound, one per bounded DAG): the count a claimer reads
// includes every claim committed before it.
func (s *Store) ClaimNext(ctx context.Context, instance string, at time.Time, lim Limits) (c Claim, ok bool, wait string, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		c, ok, wait = Claim{}, false, ""
		if lim.MaxConcurrentRuns > 0 {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", claimGlobalLock); err != nil {
				return err
			}
			var running int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM runs WHERE state = 'running'").Scan(&running); err != nil {
				return err
			}
			if running >= lim.MaxConcurrentRuns {
				wait = WaitMaxConcurrentRuns
				return nil
			}
		}
		full := []string{} // DAGs at their bound (or busy) here; never nil: ANY(NULL) matches nothing
		heldDAG := false
		for {
			var id int64
			var dag string
			err := tx.QueryRow(ctx, `SELECT id, dag FROM runs WHERE state = 'queued' AND NOT (dag = ANY($1))
				ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED`, full).Scan(&id, &dag)
			if errors.Is(err, pgx.ErrNoRows) {
				if len(full) > 0 {
					wait = WaitMaxActiveRuns
				}
				return nil
			}
			if err != nil {
				return err
			}
			if max := lim.MaxActiveRuns[dag]; max > 0 {
				// Wait for a DAG's lock only while holding none: a claimer
				// holding one never waits for another, so no two wait on
				// each other. Otherwise the DAG is busy: skip it this time.
				if heldDAG {
					var got bool
					if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", claimDAGLock, dag).Scan(&got); err != nil {
						return err
					}
					if !got {
						full = append(full, dag)
						continue
					}
				} else if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", claimDAGLock, dag); err != nil {
					return err
				}
				heldDAG = true
				var running int
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM runs WHERE dag = $1 AND state = 'running'", dag).Scan(&running); err != nil {
					return err
				}
				if running >= max {
					full = append(full, dag)
					continue
				}
			}
			var token int64
			if err := tx.QueryRow(ctx, `UPDATE runs SET state = 'running', started_at = $2, instance = $3, claim = claim + 1, adopted = TRUE
				WHERE id = $1 RETURNING claim`, id, at.UnixNano(), instance).Scan(&token); err != nil {
				return err
			}
			r, err := scanRun(tx.QueryRow(ctx, "SELECT "+runColumns+runFrom+"WHERE r.id = $1", id))
			if err != nil {
				return err
			}
			c, ok = Claim{Run: r, Instance: instance, Token: token}, true
			return nil
		}
	})
	if err != nil {
		return Claim{}, false, "", fmt.Errorf("claiming a run for instance %s: %w", instance, err)
	}
	return c, ok, wait, nil
}

// FinishClaimed settles a claimed run like FinishRun, only while the claim
// still holds: ErrFenced when another instance has claimed the run since
// (or it was settled without this instance), and nothing is written.
func (s *Store) FinishClaimed(ctx context.Context, c Claim, state api.RunState, errMsg string, at time.Time, settle []store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE runs SET state = $1, error = $2, finished_at = $3
			WHERE id = $4 AND instance = $5 AND claim = $6 AND state = 'running'`, state, errMsg, at.UnixNano(), c.Run.ID, c.Instance, c.Token)
		if err != nil {
			return fmt.Errorf("finishing run %d: %w", c.Run.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("finishing run %d as instance %s (claim %d): %w", c.Run.ID, c.Instance, c.Token, ErrFenced)
		}
		return putAttempts(ctx, tx, settle)
	})
}
