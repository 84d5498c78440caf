package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// CreateRun stores a queued run and returns its id. With a batch already
// stored for the DAG it returns the id of the run that carries it and
// store.ErrDuplicateBatch.
func (s *Store) CreateRun(ctx context.Context, nr store.NewRun) (int64, error) {
	if nr.DAG == "" {
		return 0, errors.New("creating run: empty dag name")
	}
	if nr.Trigger == "" {
		nr.Trigger = store.TriggerManual
	}
	if nr.QueuedAt.IsZero() {
		nr.QueuedAt = time.Now()
	}
	var id int64
	var err error
	if nr.Batch == nil && nr.ScheduledFor.IsZero() && nr.RerunOf == 0 && nr.ReuseBatch == 0 {
		// One row, no key to check: one statement shared with concurrent
		// calls (flushCreates).
		if _, err = s.q(); err == nil {
			c := s.creates.do(ctx, nr)
			id, err = c.id, c.err
		}
	} else {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			var err error
			id, err = createRun(ctx, tx, nr, 0)
			return err
		})
	}
	if errors.Is(err, store.ErrDuplicateBatch) || errors.Is(err, store.ErrDuplicateFire) || errors.Is(err, store.ErrDuplicateRerun) {
		return id, err
	}
	if err != nil {
		return 0, fmt.Errorf("creating run of %q: %w", nr.DAG, err)
	}
	return id, nil
}

// createRun inserts nr; batchID, when not 0, re-uses a stored batch (crash
// recovery) instead of nr.Batch.
func createRun(ctx context.Context, tx pgx.Tx, nr store.NewRun, batchID int64) (int64, error) {
	if nr.ReuseBatch != 0 {
		batchID = nr.ReuseBatch
	}
	var batch *int64
	if batchID != 0 {
		batch = &batchID
	}
	if b := nr.Batch; b != nil {
		// One writer per (DAG, topic, partition) across instances until
		// commit, so the overlap check and the insert are one step.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1::text || '/' || $2::text), $3::int)", nr.DAG, b.Topic, b.Partition); err != nil {
			return 0, fmt.Errorf("locking %s/%d: %w", b.Topic, b.Partition, err)
		}
		// A DAG's batches never overlap, so the one starting last at or
		// before this one's end is the only one that can (one seek).
		var first, last int64
		err := tx.QueryRow(ctx, `SELECT first_offset, last_offset FROM run_batches
			WHERE dag = $1 AND topic = $2 AND partition = $3 AND first_offset <= $4 AND released_at IS NULL
			ORDER BY first_offset DESC LIMIT 1`, nr.DAG, b.Topic, b.Partition, b.LastOffset).Scan(&first, &last)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return 0, err
		}
		if err == nil && last >= b.FirstOffset && (first != b.FirstOffset || last != b.LastOffset) {
			return 0, fmt.Errorf("%w: %s overlaps %d-%d", store.ErrBatchOverlap, b.Key(), first, last)
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO run_batches (dag, topic, partition, first_offset, last_offset, messages)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
			nr.DAG, b.Topic, b.Partition, b.FirstOffset, b.LastOffset, b.Messages).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// Stored already (the conflicting insert, if concurrent, has
			// committed by now: ON CONFLICT waited for it).
			var existing int64
			err := tx.QueryRow(ctx, `SELECT r.id FROM runs r JOIN run_batches b ON r.batch_id = b.id
				WHERE b.dag = $1 AND b.topic = $2 AND b.partition = $3 AND b.first_offset = $4 AND b.last_offset = $5
				AND b.released_at IS NULL ORDER BY r.id LIMIT 1`, nr.DAG, b.Topic, b.Partition, b.FirstOffset, b.LastOffset).Scan(&existing)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return 0, err
			}
			return existing, fmt.Errorf("%w: %s (run %d)", store.ErrDuplicateBatch, b.Key(), existing)
		}
		if err != nil {
			return 0, fmt.Errorf("storing batch %s: %w", b.Key(), err)
		}
		batch = &id
	}
	// One re-run of a run at a time: the original's row lock orders two
	// consoles re-running it together.
	rerunOf, err := lockRerun(ctx, tx, nr.RerunOf)
	if err != nil {
		return rerunOf, err
	}
	id, err := insertRun(ctx, tx, nr, batch)
	if errors.Is(err, store.ErrDuplicateFire) {
		return id, err
	}
	if err != nil {
		return 0, err
	}
	if !nr.ScheduledFor.IsZero() {
		if err := setLastFire(ctx, tx, nr.DAG, nr.ScheduledFor); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// rowQuerier is a pool, a connection or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// insertRun inserts nr's row, queued, carrying batch (nil: none).
func insertRun(ctx context.Context, q rowQuerier, nr store.NewRun, batch *int64) (int64, error) {
	var cfg []byte
	if len(nr.Config) > 0 {
		cfg = nr.Config
	}
	var retryOf *int64
	if nr.RetryOf != 0 {
		retryOf = &nr.RetryOf
	}
	skip, err := skipTasks(nr.Skip)
	if err != nil {
		return 0, err
	}
	var id int64
	// The only unique key a new run can hit is runs_fire (DAG, fire time):
	// ON CONFLICT waits for a concurrent insert of the fire on another
	// instance and then does nothing.
	err = q.QueryRow(ctx, `INSERT INTO runs (dag, state, trigger, priority, config, queued_at, batch_id, retry_of, scheduled_for, adopted, rerun_of, skip_tasks, dag_version, backfill_id)
		VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING RETURNING id`,
		nr.DAG, nr.Trigger, nr.Priority, cfg, nr.QueuedAt.UnixNano(), batch, retryOf, dbTime(nr.ScheduledFor), !nr.External,
		nullID(nr.RerunOf), skip, nullID(int64(nr.DAGVersion)), nullID(nr.BackfillID)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		var existing int64
		err := q.QueryRow(ctx, "SELECT id FROM runs WHERE dag = $1 AND scheduled_for = $2 AND trigger = 'schedule'",
			nr.DAG, nr.ScheduledFor.UnixNano()).Scan(&existing)
		if err != nil {
			return 0, fmt.Errorf("reading the run of fire %s: %w", nr.ScheduledFor.UTC().Format(time.RFC3339Nano), err)
		}
		return existing, fmt.Errorf("%w: %s at %s (run %d)", store.ErrDuplicateFire, nr.DAG, nr.ScheduledFor.UTC().Format(time.RFC3339Nano), existing)
	}
	return id, err
}

// skipTasks is the stored form of NewRun.Skip: JSON, NULL when empty.
func skipTasks(skip map[string]int64) (*string, error) {
	if len(skip) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(skip)
	if err != nil {
		return nil, fmt.Errorf("encoding skipped tasks: %w", err)
	}
	s := string(b)
	return &s, nil
}

// createsSQL inserts plain new runs (no batch, fire or re-run: no unique
// key) in the order of the arrays: ORDER BY hands the rows to the insert
// in that order, so the identity's values rise with it and the i-th
// smallest id returned is the i-th run's.
const createsSQL = `INSERT INTO runs (dag, state, trigger, priority, config, queued_at, retry_of, adopted, skip_tasks, dag_version, backfill_id)
	SELECT n.dag, 'queued', n.trigger, n.priority, n.config, n.queued_at, n.retry_of, n.adopted, n.skip_tasks, n.dag_version, n.backfill_id
	FROM unnest($1::text[], $2::text[], $3::int[], $4::bytea[], $5::bigint[], $6::bigint[], $7::bool[], $8::text[], $9::int[], $10::bigint[])
		WITH ORDINALITY AS n (dag, trigger, priority, config, queued_at, retry_of, adopted, skip_tasks, dag_version, backfill_id, ord)
	ORDER BY n.ord
	RETURNING id`

// flushCreates is the flush of s.creates: one call alone is insertRun's
// statement; several are createsSQL. A statement the server refuses (a
// run referring to a missing one) is retried call by call.
func (s *Store) flushCreates(ctx context.Context, calls []*call[store.NewRun]) {
	if len(calls) == 1 {
		calls[0].id, calls[0].err = insertRun(ctx, s.pool, calls[0].req, nil)
		return
	}
	skips := make([]*string, 0, len(calls))
	ok := calls[:0:0]
	for _, c := range calls {
		skip, err := skipTasks(c.req.Skip)
		if err != nil {
			c.err = err
			continue
		}
		skips, ok = append(skips, skip), append(ok, c)
	}
	calls = ok
	n := len(calls)
	if n == 0 {
		return
	}
	var (
		dags, triggers  = make([]string, n), make([]string, n)
		prios           = make([]int32, n)
		cfgs            = make([][]byte, n)
		queued          = make([]int64, n)
		retryOf, bfills = make([]*int64, n), make([]*int64, n)
		adopted         = make([]bool, n)
		versions        = make([]*int64, n)
	)
	for i, c := range calls {
		nr := c.req
		dags[i], triggers[i], prios[i], queued[i], adopted[i] = nr.DAG, nr.Trigger, int32(nr.Priority), nr.QueuedAt.UnixNano(), !nr.External
		if len(nr.Config) > 0 {
			cfgs[i] = nr.Config
		}
		retryOf[i], bfills[i], versions[i] = nullID(nr.RetryOf), nullID(nr.BackfillID), nullID(int64(nr.DAGVersion))
	}
	ids, err := newRunIDs(s.pool.Query(ctx, createsSQL, dags, triggers, prios, cfgs, queued, retryOf, adopted, skips, versions, bfills))
	if err == nil && len(ids) != n {
		err = fmt.Errorf("inserting %d runs returned %d ids", n, len(ids))
	}
	if err != nil && rejected(err) {
		for _, c := range calls {
			s.flushCreates(ctx, []*call[store.NewRun]{c})
		}
		return
	}
	slices.Sort(ids)
	for i, c := range calls {
		if err != nil {
			c.err = err
			continue
		}
		c.id = ids[i]
	}
}

// newRunIDs reads the ids createsSQL returns.
func newRunIDs(rows pgx.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// StartRun moves a queued run to running and, in the same transaction,
// stores the given task rows.
func (s *Store) StartRun(ctx context.Context, id int64, at time.Time, attempts ...store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE runs SET state = 'running', started_at = $1 WHERE id = $2 AND state = 'queued'", at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("starting run %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("starting run %d: %w", id, store.ErrNotQueued)
		}
		return putAttempts(ctx, tx, attempts)
	})
}

// FinishRun settles a run and, in the same transaction, the given task rows.
func (s *Store) FinishRun(ctx context.Context, id int64, state api.RunState, errMsg string, at time.Time, settle []store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := putAttempts(ctx, tx, settle); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE runs SET state = $1, error = $2, finished_at = $3 WHERE id = $4", state, errMsg, at.UnixNano(), id); err != nil {
			return fmt.Errorf("finishing run %d: %w", id, err)
		}
		return nil
	})
}

// CancelQueued cancels a run that is still queued; store.ErrNotQueued when
// it is not (any more), store.ErrNotFound when there is no such run.
func (s *Store) CancelQueued(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE runs SET state = 'cancelled', error = $1, finished_at = $2 WHERE id = $3 AND state = 'queued'",
			reason, at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("cancelling run %d: %w", id, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var state string
		if err := tx.QueryRow(ctx, "SELECT state FROM runs WHERE id = $1", id).Scan(&state); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("cancelling run %d: %w", id, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		return fmt.Errorf("cancelling run %d (%s): %w", id, state, store.ErrNotQueued)
	})
}

// PutAttempt inserts or updates one task attempt.
func (s *Store) PutAttempt(ctx context.Context, a store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return putAttempts(ctx, tx, []store.Attempt{a}) })
}

// PutAttempts stores several rows in one transaction.
func (s *Store) PutAttempts(ctx context.Context, as []store.Attempt) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return putAttempts(ctx, tx, as) })
}

func putAttempts(ctx context.Context, tx pgx.Tx, as []store.Attempt) error {
	for _, a := range as {
		_, err := tx.Exec(ctx, `INSERT INTO task_attempts (run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (run_id, task, attempt) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
				finished_at = excluded.finished_at, error = excluded.error, log_tail = excluded.log_tail, log_file = excluded.log_file`,
			a.RunID, a.Task, a.Attempt, a.State, dbTime(a.StartedAt), dbTime(a.FinishedAt), a.Error, a.LogTail, a.LogFile)
		if err != nil {
			return fmt.Errorf("storing attempt %d of task %q of run %d: %w", a.Attempt, a.Task, a.RunID, err)
		}
	}
	return nil
}

const runColumns = `r.id, r.dag, r.state, r.trigger, r.priority, r.config, r.queued_at, r.started_at, r.finished_at, r.error,
	r.batch_id, r.retry_of, r.scheduled_for, b.topic, b.partition, b.first_offset, b.last_offset, r.instance,
	r.rerun_of, r.skip_tasks, r.dag_version, r.backfill_id`

const runFrom = ` FROM runs r LEFT JOIN run_batches b ON b.id = r.batch_id `

// scanRun reads a row of runColumns, then extra.
func scanRun(row pgx.Row, extra ...any) (store.Run, error) {
	var (
		r                             store.Run
		cfg                           []byte
		queued                        int64
		started, finished, sched      *int64
		batchID, retryOf, first, last *int64
		rerunOf, backfill             *int64
		version                       *int32
		partition                     *int32
		topic, skip                   *string
	)
	if err := row.Scan(append([]any{&r.ID, &r.DAG, &r.State, &r.Trigger, &r.Priority, &cfg, &queued, &started, &finished, &r.Error,
		&batchID, &retryOf, &sched, &topic, &partition, &first, &last, &r.Instance, &rerunOf, &skip, &version, &backfill}, extra...)...); err != nil {
		return store.Run{}, err
	}
	if backfill != nil {
		r.BackfillID = *backfill
	}
	if version != nil {
		r.DAGVersion = int(*version)
	}
	if rerunOf != nil {
		r.RerunOf = *rerunOf
	}
	if skip != nil && *skip != "" {
		if err := json.Unmarshal([]byte(*skip), &r.Skip); err != nil {
			return store.Run{}, fmt.Errorf("run %d: reading its skipped tasks: %w", r.ID, err)
		}
	}
	if len(cfg) > 0 {
		r.Config = json.RawMessage(cfg)
	}
	r.QueuedAt = time.Unix(0, queued)
	r.StartedAt, r.FinishedAt, r.ScheduledFor = goTime(started), goTime(finished), goTime(sched)
	if batchID != nil {
		r.BatchID = *batchID
	}
	if retryOf != nil {
		r.RetryOf = *retryOf
	}
	if topic != nil {
		r.Batch = store.Batch{Topic: *topic, Partition: *partition, FirstOffset: *first, LastOffset: *last}.Key()
	}
	return r, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryRuns(ctx context.Context, q querier, where string, args ...any) ([]store.Run, error) {
	rows, err := q.Query(ctx, "SELECT "+runColumns+runFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// Run returns one run; store.ErrNotFound when there is none.
func (s *Store) Run(ctx context.Context, id int64) (store.Run, error) {
	db, err := s.q()
	if err != nil {
		return store.Run{}, err
	}
	r, err := scanRun(db.QueryRow(ctx, "SELECT "+runColumns+runFrom+"WHERE r.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, fmt.Errorf("run %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Run{}, fmt.Errorf("reading run %d: %w", id, err)
	}
	return r, nil
}

// ListRuns returns runs, newest first.
func (s *Store) ListRuns(ctx context.Context, o store.ListOptions) ([]store.Run, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	var (
		conds []string
		args  []any
	)
	if o.DAG != "" {
		args = append(args, o.DAG)
		conds = append(conds, fmt.Sprintf("r.dag = $%d", len(args)))
	}
	if len(o.States) > 0 {
		args = append(args, o.States)
		conds = append(conds, fmt.Sprintf("r.state = ANY($%d)", len(args)))
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	where += " ORDER BY r.id DESC"
	if o.Limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", o.Limit)
	}
	runs, err := queryRuns(ctx, db, where, args...)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return runs, nil
}

// ClaimQueued marks every queued run adopted and returns them all in id
// order: the queue an engine starts with.
func (s *Store) ClaimQueued(ctx context.Context) ([]store.Run, error) {
	var runs []store.Run
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE runs SET adopted = TRUE WHERE NOT adopted"); err != nil {
			return err
		}
		var err error
		runs, err = queryRuns(ctx, tx, "WHERE r.state = 'queued' ORDER BY r.id")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loading queued runs: %w", err)
	}
	return runs, nil
}

// ClaimExternal returns the runs other processes inserted since the last
// call, marking them adopted, in one statement. Cheap when there are none:
// one read of a partial index.
func (s *Store) ClaimExternal(ctx context.Context) ([]store.Run, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	runs, err := queryRunsWith(ctx, db,
		`WITH adopted AS (UPDATE runs SET adopted = TRUE WHERE NOT adopted RETURNING id)`,
		`WHERE r.id IN (SELECT id FROM adopted) ORDER BY r.id`)
	if err != nil {
		return nil, fmt.Errorf("adopting new runs: %w", err)
	}
	return runs, nil
}

func queryRunsWith(ctx context.Context, q querier, with, where string, args ...any) ([]store.Run, error) {
	return queryRuns(ctx, prefixed{q, with}, where, args...)
}

// prefixed puts a WITH clause before the queries it runs.
type prefixed struct {
	q    querier
	with string
}

func (p prefixed) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.q.Query(ctx, p.with+" "+sql, args...)
}

// QueuedCount is the number of queued runs of a DAG (every DAG when dag is
// empty).
func (s *Store) QueuedCount(ctx context.Context, dag string) (int, error) {
	db, err := s.q()
	if err != nil {
		return 0, err
	}
	var n int
	if dag == "" {
		err = db.QueryRow(ctx, "SELECT count(*) FROM runs WHERE state = 'queued'").Scan(&n)
	} else {
		err = db.QueryRow(ctx, "SELECT count(*) FROM runs WHERE dag = $1 AND state = 'queued'", dag).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("counting queued runs: %w", err)
	}
	return n, nil
}

// FinishedCount is the number of finished runs.
func (s *Store) FinishedCount(ctx context.Context) (int, error) {
	db, err := s.q()
	if err != nil {
		return 0, err
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM runs WHERE state NOT IN ('queued', 'running')").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting finished runs: %w", err)
	}
	return n, nil
}

const attemptColumns = "run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file"

func scanAttempts(rows pgx.Rows) ([]store.Attempt, error) {
	defer rows.Close()
	var out []store.Attempt
	for rows.Next() {
		var a store.Attempt
		var started, finished *int64
		if err := rows.Scan(&a.RunID, &a.Task, &a.Attempt, &a.State, &started, &finished, &a.Error, &a.LogTail, &a.LogFile); err != nil {
			return nil, err
		}
		a.StartedAt, a.FinishedAt = goTime(started), goTime(finished)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Tasks returns, for each run, the latest row of each of its tasks, ordered
// by task name.
func (s *Store) Tasks(ctx context.Context, runIDs ...int64) (map[int64][]store.Attempt, error) {
	out := make(map[int64][]store.Attempt, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT DISTINCT ON (run_id, task) `+attemptColumns+`
		FROM task_attempts WHERE run_id = ANY($1) ORDER BY run_id, task, attempt DESC`, runIDs)
	if err != nil {
		return nil, fmt.Errorf("reading tasks: %w", err)
	}
	as, err := scanAttempts(rows)
	if err != nil {
		return nil, fmt.Errorf("reading tasks: %w", err)
	}
	for _, a := range as {
		out[a.RunID] = append(out[a.RunID], a)
	}
	return out, nil
}

// Attempts returns every attempt of a run's task, oldest first.
func (s *Store) Attempts(ctx context.Context, runID int64, task string) ([]store.Attempt, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT "+attemptColumns+" FROM task_attempts WHERE run_id = $1 AND task = $2 ORDER BY attempt", runID, task)
	if err != nil {
		return nil, fmt.Errorf("reading attempts: %w", err)
	}
	as, err := scanAttempts(rows)
	if err != nil {
		return nil, fmt.Errorf("reading attempts: %w", err)
	}
	return as, nil
}

// BatchMessages returns the messages of a stored batch.
func (s *Store) BatchMessages(ctx context.Context, batchID int64) ([]byte, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	var msgs []byte
	if err := db.QueryRow(ctx, "SELECT messages FROM run_batches WHERE id = $1", batchID).Scan(&msgs); err != nil {
		return nil, fmt.Errorf("reading batch %d: %w", batchID, err)
	}
	return msgs, nil
}

// Recover settles the runs a crash left running, in one transaction: each
// is marked failed (interrupted) with its unfinished attempts, and
// re-queued when retry says so. The runs' recorded task processes are
// forgotten: stop them first (RunningProcesses).
func (s *Store) Recover(ctx context.Context, at time.Time, retry func(store.Run) bool) ([]store.Interrupted, error) {
	var out []store.Interrupted
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = recoverWhere(ctx, tx, at, retry, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recovering interrupted runs: %w", err)
	}
	return out, nil
}

// recoverWhere settles the running runs matching cond (an AND clause on r,
// "" for all) inside tx: Recover limited to some runs.
func recoverWhere(ctx context.Context, tx pgx.Tx, at time.Time, retry func(store.Run) bool, cond string, args ...any) ([]store.Interrupted, error) {
	var out []store.Interrupted
	// FOR UPDATE: two processes recovering at once settle each run once.
	runs, err := queryRuns(ctx, tx, "WHERE r.state = 'running' "+cond+" ORDER BY r.id FOR UPDATE OF r", args...)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if _, err := tx.Exec(ctx, `UPDATE task_attempts SET state = 'failed', finished_at = $1, error = $2
			WHERE run_id = $3 AND state IN ('running', 'retrying')`, at.UnixNano(), store.InterruptedError, r.ID); err != nil {
			return nil, err
		}
		tag, err := tx.Exec(ctx, "UPDATE runs SET state = 'failed', error = $1, finished_at = $2 WHERE id = $3 AND state = 'running'",
			store.InterruptedError, at.UnixNano(), r.ID)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			continue // settled by another process while this one waited for the lock
		}
		if _, err := tx.Exec(ctx, "DELETE FROM task_processes WHERE run_id = $1", r.ID); err != nil {
			return nil, err
		}
		in := store.Interrupted{Run: r}
		if retry != nil && retry(r) {
			in.Requeued, err = createRun(ctx, tx, store.NewRun{
				DAG: r.DAG, Trigger: store.TriggerRecovery, Priority: r.Priority, Config: r.Config,
				QueuedAt: at, RetryOf: r.ID, Skip: r.Skip, DAGVersion: r.DAGVersion,
			}, r.BatchID)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, in)
	}
	return out, nil
}
