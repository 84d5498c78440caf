package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
// no run is taken twice.
//
// The lock is held until the claim's commit is flushed, so claims are
// serial: what bounds throughput is how long one claim holds it. Hence
// the claim is two round trips — the lock (taken only when a run is
// queued), the counts and the first candidates pipelined in one; the
// update returning the claimed runs and the commit in the other — and the
// first page reads only as many candidates as may be picked.
func (s *Store) ClaimRuns(ctx context.Context, instance string, at time.Time, lim store.ClaimLimits, max int) ([]store.Claim, string, error) {
	claims, wait, err := s.claimRuns(ctx, instance, at, lim, max)
	if err != nil {
		return nil, "", fmt.Errorf("claiming runs for instance %s: %w", instance, err)
	}
	return claims, wait, nil
}

const claimPageSQL = `SELECT id, dag, priority FROM runs WHERE state = 'queued' AND NOT (dag = ANY($1))
	AND ($2 OR priority < $3 OR (priority = $3 AND id > $4))
	ORDER BY priority DESC, id LIMIT $5 FOR UPDATE SKIP LOCKED`

func (s *Store) claimRuns(ctx context.Context, instance string, at time.Time, lim store.ClaimLimits, max int) ([]store.Claim, string, error) {
	if s.closed.Load() {
		return nil, "", store.ErrClosed
	}
	if max <= 0 {
		return nil, "", nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, "", err
	}
	// A connection left inside the transaction (an error below) is
	// destroyed by Release, which rolls it back on the server.
	defer conn.Release()

	var b pgx.Batch
	b.Queue("BEGIN")
	// The claim's commit does not wait for its WAL flush, so the lock is
	// released without it; the flush comes right after (flushClaimSQL).
	b.Queue("SET LOCAL synchronous_commit = off")
	if s.syncClaims {
		b.Queue("SET LOCAL synchronous_commit = on")
	}
	setup := len(b.QueuedQueries)
	// Nothing queued: no lock (the idle poll of every instance).
	b.Queue("SELECT pg_advisory_xact_lock($1) WHERE EXISTS (SELECT 1 FROM runs WHERE state = 'queued')", claimLock)
	// Statements after the lock take their snapshot after it: they see
	// every claim committed before this one.
	b.Queue("SELECT dag, count(*) FROM runs WHERE state = 'running' GROUP BY dag")
	b.Queue(claimPageSQL, []string{}, true, 0, int64(0), max)
	br := conn.SendBatch(ctx, &b)
	locked, running, page, err := func() (bool, map[string]int, []store.ClaimCandidate, error) {
		defer br.Close()
		for range setup {
			if _, err := br.Exec(); err != nil {
				return false, nil, nil, err
			}
		}
		rows, err := br.Query()
		if err != nil {
			return false, nil, nil, err
		}
		locked := rows.Next()
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, nil, nil, err
		}
		running := map[string]int{}
		rows, err = br.Query()
		if err != nil {
			return false, nil, nil, err
		}
		for rows.Next() {
			var dag string
			var n int
			if err := rows.Scan(&dag, &n); err != nil {
				rows.Close()
				return false, nil, nil, err
			}
			running[dag] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, nil, nil, err
		}
		page, err := scanCandidates(br.Query())
		return locked, running, page, err
	}()
	if err != nil {
		return nil, "", err
	}
	if !locked {
		// Nothing was queued when the lock was asked for; any rows the
		// page locked since are released.
		_, err := conn.Exec(ctx, "ROLLBACK")
		return nil, "", err
	}

	plan := store.NewClaimPlan(lim, running, max)
	size := max
	for plan.Offer(page) && len(page) == size {
		last := page[len(page)-1]
		size = store.ClaimPage
		if page, err = scanCandidates(conn.Query(ctx, claimPageSQL, plan.Blocked, false, last.Priority, last.ID, size)); err != nil {
			return nil, "", err
		}
	}
	if len(plan.Picks) == 0 {
		_, err := conn.Exec(ctx, "ROLLBACK")
		return nil, plan.Wait, err
	}

	b = pgx.Batch{}
	b.Queue(`WITH u AS (UPDATE runs SET state = 'running', started_at = $2, instance = $3, claim = claim + 1, adopted = TRUE
		WHERE id = ANY($1) AND state = 'queued' RETURNING *)
		SELECT `+runColumns+`, r.claim FROM u r LEFT JOIN run_batches b ON b.id = r.batch_id ORDER BY r.priority DESC, r.id`,
		plan.Picks, at.UnixNano(), instance)
	b.Queue("COMMIT")
	if !s.syncClaims {
		b.Queue(flushClaimSQL, plan.Picks[0])
	}
	br = conn.SendBatch(ctx, &b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, "", err
	}
	claims := make([]store.Claim, 0, len(plan.Picks))
	for rows.Next() {
		var c store.Claim
		if c.Run, err = scanRun(rows, &c.Token); err != nil {
			rows.Close()
			return nil, "", err
		}
		claims = append(claims, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	tag, err := br.Exec()
	if err != nil {
		return nil, "", err
	}
	if tag.String() != "COMMIT" {
		return nil, "", fmt.Errorf("claim transaction ended with %s", tag)
	}
	if !s.syncClaims {
		if _, err := br.Exec(); err != nil {
			return nil, "", fmt.Errorf("flushing the claim: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, "", err
	}
	return claims, plan.Wait, nil
}

// flushClaimSQL makes a claim durable before ClaimRuns returns it. The
// claim commits without waiting for its WAL flush (synchronous_commit off
// for that transaction alone), so the global claim lock is released
// after one round trip instead of one round trip and an fsync: claims of
// several instances, serial under the lock, no longer queue behind each
// other's flushes. This statement, in the same round trip, is a write
// committed synchronously: its flush covers the WAL before it, the
// claim's commit included. A no-op update of a claimed run's row, because
// a write that always logs WAL is what forces the flush.
//
// Until then the claim is visible but not durable: what others may do
// seeing it (count it against the limits, show the run running) is undone
// with it by a server crash, and whatever they commit durably is logged
// after it, so it makes the claim durable too. The claimer itself acts on
// its claims only once ClaimRuns returned them, durable.
const flushClaimSQL = "UPDATE runs SET claim = claim WHERE id = $1"

// scanCandidates reads the rows of claimPageSQL.
func scanCandidates(rows pgx.Rows, err error) ([]store.ClaimCandidate, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var page []store.ClaimCandidate
	for rows.Next() {
		var c store.ClaimCandidate
		if err := rows.Scan(&c.ID, &c.DAG, &c.Priority); err != nil {
			return nil, err
		}
		page = append(page, c)
	}
	return page, rows.Err()
}

// claimedWrite is a write of a claimed run: its task rows and, when it
// settles the run, the run's end.
type claimedWrite struct {
	ref    store.ClaimRef
	as     []store.Attempt
	state  api.RunState
	errMsg string
	at     time.Time
}

// PutClaimedAttempts stores task rows while the claim holds. The run's row
// is read FOR SHARE with the claim's terms in the same statement, so a
// reaper settling the run waits for this write, and this write never
// lands after the reaper's (it then finds no row, and writes nothing).
// Concurrent calls share one statement (flushPuts).
func (s *Store) PutClaimedAttempts(ctx context.Context, c store.ClaimRef, as []store.Attempt) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := s.puts.do(ctx, claimedWrite{ref: c, as: as}).err; err != nil {
		return fmt.Errorf("storing task rows of run %d: %w", c.RunID, err)
	}
	return nil
}

// SetClaimedVersion records the version a claimed run runs, if it has none.
func (s *Store) SetClaimedVersion(ctx context.Context, c store.ClaimRef, version int) error {
	db, err := s.q()
	if err != nil {
		return err
	}
	var one int
	err = db.QueryRow(ctx, `UPDATE runs SET dag_version = coalesce(dag_version, $4)
		WHERE id = $1 AND instance = $2 AND claim = $3 AND state = 'running' RETURNING 1`,
		c.RunID, c.Instance, c.Token, version).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("writing run %d as instance %s (claim %d): %w", c.RunID, c.Instance, c.Token, store.ErrFenced)
	}
	if err != nil {
		return fmt.Errorf("recording the dag version of run %d: %w", c.RunID, err)
	}
	return nil
}

// FinishClaimed settles a claimed run like FinishRun, only while the claim
// still holds: ErrFenced when another instance has settled the run since,
// and nothing is written. The run's update and its task rows are one
// statement (the rows only for a run whose update took), shared by
// concurrent calls (flushFinishes).
func (s *Store) FinishClaimed(ctx context.Context, c store.ClaimRef, state api.RunState, errMsg string, at time.Time, settle []store.Attempt) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := s.finishes.do(ctx, claimedWrite{ref: c, as: settle, state: state, errMsg: errMsg, at: at}).err; err != nil {
		return fmt.Errorf("finishing run %d: %w", c.RunID, err)
	}
	return nil
}

// claimedGroup is the group of one kind of claimed write: at most one
// call per run in a statement, so a run's row is matched once.
func claimedGroup(flush func(context.Context, []*call[claimedWrite])) *group[claimedWrite] {
	return &group[claimedWrite]{
		flights: groupFlights,
		max:     groupMax,
		key:     func(w claimedWrite) int64 { return w.ref.RunID },
		flush:   flush,
	}
}

// putClaimedSQL locks the held runs' rows in id order (claimedArgs sorts
// the calls) and upserts the task rows of those only.
var putClaimedSQL = `WITH held AS (
		SELECT r.id FROM runs r JOIN unnest($1::bigint[], $2::text[], $3::bigint[]) AS g (id, instance, claim)
			ON r.id = g.id AND r.instance = g.instance AND r.claim = g.claim
		WHERE r.state = 'running' ORDER BY r.id FOR SHARE OF r
	), put AS (` + upsertAttemptsHeld(4) + `)
	SELECT id FROM held`

// finishClaimedSQL settles the held runs and upserts their task rows.
var finishClaimedSQL = `WITH held AS (
		UPDATE runs r SET state = g.state, error = g.error, finished_at = g.at
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) AS g (id, instance, claim, state, error, at)
		WHERE r.id = g.id AND r.instance = g.instance AND r.claim = g.claim AND r.state = 'running'
		RETURNING r.id
	), put AS (` + upsertAttemptsHeld(7) + `)
	SELECT id FROM held`

// flushPuts is the flush of s.puts.
func (s *Store) flushPuts(ctx context.Context, calls []*call[claimedWrite]) {
	s.flushClaimed(ctx, calls, func(ws []claimedWrite) (string, []any) {
		return putClaimedSQL, claimedArgs(ws, false)
	})
}

// flushFinishes is the flush of s.finishes.
func (s *Store) flushFinishes(ctx context.Context, calls []*call[claimedWrite]) {
	s.flushClaimed(ctx, calls, func(ws []claimedWrite) (string, []any) {
		return finishClaimedSQL, claimedArgs(ws, true)
	})
}

// flushClaimed writes calls in one statement and answers each: nil when
// its claim held, ErrFenced when not. A statement the server refuses is
// retried call by call, so one call's bad row fails only that call.
func (s *Store) flushClaimed(ctx context.Context, calls []*call[claimedWrite], stmt func([]claimedWrite) (string, []any)) {
	// In run id order: concurrent statements lock rows in one order.
	sort.Slice(calls, func(i, j int) bool { return calls[i].req.ref.RunID < calls[j].req.ref.RunID })
	ws := make([]claimedWrite, len(calls))
	for i, c := range calls {
		ws[i] = c.req
	}
	sql, args := stmt(ws)
	held, err := heldRuns(s.pool.Query(ctx, sql, args...))
	if err != nil && len(calls) > 1 && rejected(err) {
		for _, c := range calls {
			s.flushClaimed(ctx, []*call[claimedWrite]{c}, stmt)
		}
		return
	}
	for _, c := range calls {
		switch ref := c.req.ref; {
		case err != nil:
			c.err = err
		case !held[ref.RunID]:
			c.err = fmt.Errorf("as instance %s (claim %d): %w", ref.Instance, ref.Token, store.ErrFenced)
		}
	}
}

// heldRuns reads the ids a claimed write's statement returns.
func heldRuns(rows pgx.Rows, err error) (map[int64]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	held := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		held[id] = true
	}
	return held, rows.Err()
}

// claimedArgs are the parameters of putClaimedSQL (the claims, then the
// task rows) or, with end, of finishClaimedSQL (the claims and the runs'
// ends, then the task rows).
func claimedArgs(ws []claimedWrite, end bool) []any {
	n := len(ws)
	ids, insts, tokens := make([]int64, n), make([]string, n), make([]int64, n)
	states, errs, ats := make([]string, n), make([]string, n), make([]int64, n)
	var as []store.Attempt
	var guards []int64
	for i, w := range ws {
		ids[i], insts[i], tokens[i] = w.ref.RunID, w.ref.Instance, w.ref.Token
		states[i], errs[i], ats[i] = string(w.state), w.errMsg, w.at.UnixNano()
		as = append(as, w.as...)
		for range w.as {
			guards = append(guards, w.ref.RunID)
		}
	}
	args := []any{ids, insts, tokens}
	if end {
		args = append(args, states, errs, ats)
	}
	return append(append(args, attemptArrays(as)...), guards)
}

// upsertAttemptsHeld is an upsert of the task rows attemptArrays passes as
// the nine parameters from $first on, each with the id of the run it is
// written for in parameter first+9, made only for the runs the CTE held
// returned.
func upsertAttemptsHeld(first int) string {
	cols := make([]string, 10)
	for i, typ := range []string{"bigint", "text", "int", "text", "bigint", "bigint", "text", "text", "text", "bigint"} {
		cols[i] = "$" + strconv.Itoa(first+i) + "::" + typ + "[]"
	}
	return `INSERT INTO task_attempts (run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file)
		SELECT a.run_id, a.task, a.attempt, a.state, a.started_at, a.finished_at, a.error, a.log_tail, a.log_file
		FROM unnest(` + strings.Join(cols, ", ") + `)
			AS a (run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file, guard)
		JOIN held ON held.id = a.guard
		ON CONFLICT (run_id, task, attempt) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
			finished_at = excluded.finished_at, error = excluded.error, log_tail = excluded.log_tail, log_file = excluded.log_file`
}

// attemptArrays are as's columns, one array each, for upsertAttemptsHeld.
func attemptArrays(as []store.Attempt) []any {
	var (
		runIDs             = make([]int64, len(as))
		tasks, states      = make([]string, len(as)), make([]string, len(as))
		attempts           = make([]int32, len(as))
		started, finished  = make([]*int64, len(as)), make([]*int64, len(as))
		errs, tails, files = make([]string, len(as)), make([]string, len(as)), make([]string, len(as))
	)
	for i, a := range as {
		runIDs[i], tasks[i], attempts[i], states[i] = a.RunID, a.Task, int32(a.Attempt), string(a.State)
		started[i], finished[i] = dbTime(a.StartedAt), dbTime(a.FinishedAt)
		errs[i], tails[i], files[i] = a.Error, a.LogTail, a.LogFile
	}
	return []any{runIDs, tasks, attempts, states, started, finished, errs, tails, files}
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
