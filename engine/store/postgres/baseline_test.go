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

// Baseline is s with the claim path as it landed first (one transaction
// per step, one round trip per statement, every claim under the global
// advisory lock), kept so BenchmarkRunThroughput measures it side by side
// with the current path in one run. Not a store to use.
func Baseline(s *Store) store.Interface { return baseline{s} }

type baseline struct{ *Store }

func (b baseline) CreateRun(ctx context.Context, nr store.NewRun) (int64, error) {
	if nr.Trigger == "" {
		nr.Trigger = store.TriggerManual
	}
	if nr.QueuedAt.IsZero() {
		nr.QueuedAt = time.Now()
	}
	var id int64
	err := b.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO runs (dag, state, trigger, priority, config, queued_at, adopted)
			VALUES ($1, 'queued', $2, $3, NULL, $4, $5) RETURNING id`,
			nr.DAG, nr.Trigger, nr.Priority, nr.QueuedAt.UnixNano(), !nr.External).Scan(&id)
	})
	return id, err
}

func (b baseline) ClaimRuns(ctx context.Context, instance string, at time.Time, lim store.ClaimLimits, max int) ([]store.Claim, string, error) {
	var (
		claims []store.Claim
		wait   string
	)
	err := b.tx(ctx, func(tx pgx.Tx) error {
		claims, wait = claims[:0], ""
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
	return claims, wait, err
}

func (b baseline) PutClaimedAttempts(ctx context.Context, c store.ClaimRef, as []store.Attempt) error {
	return b.tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM runs WHERE id = $1 AND instance = $2 AND claim = $3 AND state = 'running' FOR SHARE",
			c.RunID, c.Instance, c.Token).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrFenced
		}
		if err != nil {
			return err
		}
		for _, a := range as {
			if _, err := tx.Exec(ctx, `INSERT INTO task_attempts (run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (run_id, task, attempt) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
					finished_at = excluded.finished_at, error = excluded.error, log_tail = excluded.log_tail, log_file = excluded.log_file`,
				a.RunID, a.Task, a.Attempt, a.State, dbTime(a.StartedAt), dbTime(a.FinishedAt), a.Error, a.LogTail, a.LogFile); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b baseline) FinishClaimed(ctx context.Context, c store.ClaimRef, state api.RunState, errMsg string, at time.Time, settle []store.Attempt) error {
	return b.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE runs SET state = $1, error = $2, finished_at = $3
			WHERE id = $4 AND instance = $5 AND claim = $6 AND state = 'running'`, state, errMsg, at.UnixNano(), c.RunID, c.Instance, c.Token)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("finishing run %d: %w", c.RunID, store.ErrFenced)
		}
		for _, a := range settle {
			if _, err := tx.Exec(ctx, `INSERT INTO task_attempts (run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (run_id, task, attempt) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
					finished_at = excluded.finished_at, error = excluded.error, log_tail = excluded.log_tail, log_file = excluded.log_file`,
				a.RunID, a.Task, a.Attempt, a.State, dbTime(a.StartedAt), dbTime(a.FinishedAt), a.Error, a.LogTail, a.LogFile); err != nil {
				return err
			}
		}
		return nil
	})
}
