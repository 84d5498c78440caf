package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Run triggers.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerSensor   = "sensor"
	TriggerRecovery = "recovery"
	TriggerRerun    = "rerun"
	TriggerBackfill = "backfill"
)

// Sentinels.
var (
	// ErrDuplicateBatch: a run already carries this batch (same topic,
	// partition and offset range). CreateRun returns the existing run's id
	// with it.
	ErrDuplicateBatch = errors.New("batch already enqueued")
	// ErrNotFound: no run, backfill or DAG version with that id; every
	// wrap names which ("backfill 3: not found").
	ErrNotFound = errors.New("not found")
	// ErrVersionNotFound: the store keeps no such version of the DAG
	// (never seen, or pruned). It reads as the end of "version 7 of
	// \"etl\" is not stored".
	ErrVersionNotFound = errors.New("not stored")
	// ErrNotQueued: the run left the queue (started, finished or cancelled).
	ErrNotQueued = errors.New("run is not queued")
	// ErrDuplicateRerun: a re-run of that run is already queued or
	// running. CreateRun returns its id with it.
	ErrDuplicateRerun = errors.New("already being re-run")
	// ErrBatchOverlap: some of the batch's offsets are in another batch of
	// the DAG (a replica on another instance persisted them, cut at other
	// boundaries, during a rebalance). The sensor re-reads BatchHighWater
	// and trims; nothing is stored.
	ErrBatchOverlap = errors.New("batch overlaps a stored batch")
	// ErrDuplicateFire: a run already answers this cron fire of the DAG
	// (another instance fired it first). CreateRun returns its id with it.
	ErrDuplicateFire = errors.New("schedule fire already queued")
)

// Batch is the slice of a Kafka partition a sensor run processes.
type Batch struct {
	Topic       string
	Partition   int32
	FirstOffset int64
	LastOffset  int64
	// Messages are JSON lines, one message each.
	Messages []byte
}

// Key is "topic/partition/first-last", as the console shows it.
func (b Batch) Key() string {
	return fmt.Sprintf("%s/%d/%d-%d", b.Topic, b.Partition, b.FirstOffset, b.LastOffset)
}

// NewRun is what CreateRun stores.
type NewRun struct {
	DAG      string
	Trigger  string // default TriggerManual
	Priority int
	Config   json.RawMessage // nil: no config
	QueuedAt time.Time       // zero: now
	// Batch, when set, is stored in the same transaction; a batch already
	// stored makes CreateRun fail with ErrDuplicateBatch.
	Batch *Batch
	// ScheduledFor, when set, is the cron fire time this run answers; it is
	// recorded as the DAG's last fire time in the same transaction.
	ScheduledFor time.Time
	// External marks a run inserted by another process (sluice trigger): an
	// engine running on the same file adopts it when it next polls.
	External bool
	// RetryOf is the interrupted run this one re-runs.
	RetryOf int64
	// RerunOf is the finished run an operator re-runs. While a re-run of
	// that run is queued or running, CreateRun refuses another with
	// ErrDuplicateRerun (two consoles pressing R at once queue one run).
	RerunOf int64
	// Skip names the tasks not to run, each with the run it succeeded in
	// (clear from failed).
	Skip map[string]int64
	// DAGVersion is the stored version of the DAG the run runs (0:
	// unknown).
	DAGVersion int
	// BackfillID is the backfill the run belongs to (0: none).
	BackfillID int64
	// ReuseBatch is the id of a stored batch the run processes again (a
	// re-run of a sensor run: nothing is read from Kafka twice).
	ReuseBatch int64
	// batchID re-uses a stored batch (crash recovery).
	batchID int64
}

// Run is a stored run.
type Run struct {
	ID           int64
	DAG          string
	State        api.RunState
	Trigger      string
	Priority     int
	Config       json.RawMessage
	QueuedAt     time.Time
	StartedAt    time.Time
	FinishedAt   time.Time
	Error        string
	BatchID      int64
	Batch        string // Batch.Key() of the batch, "" for none
	RetryOf      int64
	ScheduledFor time.Time
	RerunOf      int64
	Skip         map[string]int64 // task -> run it succeeded in
	DAGVersion   int
	BackfillID   int64
	// Instance is the instance that claimed the run ("" before a claim).
	Instance string
}

// Finished reports whether the run reached a final state.
func (r Run) Finished() bool {
	return r.State.Finished()
}

// Attempt is one attempt of one task; attempt 0 records a task settled
// without running (upstream_failed, skipped, cancelled).
type Attempt struct {
	RunID      int64
	Task       string
	Attempt    int
	State      api.TaskState
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
	LogTail    string
	LogFile    string
}

// CreateRun stores a queued run and returns its id. With a batch already
// stored it returns the id of the run that carries it and ErrDuplicateBatch.
func (s *Store) CreateRun(ctx context.Context, nr NewRun) (int64, error) {
	if nr.DAG == "" {
		return 0, errors.New("creating run: empty dag name")
	}
	if nr.Trigger == "" {
		nr.Trigger = TriggerManual
	}
	if nr.QueuedAt.IsZero() {
		nr.QueuedAt = time.Now()
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.createRun(ctx, tx, nr)
		return err
	})
	if err != nil && !errors.Is(err, ErrDuplicateBatch) && !errors.Is(err, ErrDuplicateRerun) && !errors.Is(err, ErrDuplicateFire) {
		return 0, fmt.Errorf("creating run of %q: %w", nr.DAG, err)
	}
	return id, err
}

func (s *Store) createRun(ctx context.Context, tx *sql.Tx, nr NewRun) (int64, error) {
	var batchID any
	if nr.batchID != 0 {
		batchID = nr.batchID
	}
	if nr.ReuseBatch != 0 {
		batchID = nr.ReuseBatch
	}
	if b := nr.Batch; b != nil {
		// Writers are serialised: the look and the insert are one step.
		// A DAG's batches never overlap, so the one starting last at or
		// before this one's end is the only one that can (one seek).
		var first, last int64
		err := tx.QueryRowContext(ctx, `SELECT first_offset, last_offset FROM run_batches
			WHERE dag = ? AND topic = ? AND partition = ? AND first_offset <= ? AND released_at IS NULL
			ORDER BY first_offset DESC LIMIT 1`, nr.DAG, b.Topic, b.Partition, b.LastOffset).Scan(&first, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		if err == nil && last >= b.FirstOffset && (first != b.FirstOffset || last != b.LastOffset) {
			return 0, fmt.Errorf("%w: %s overlaps %d-%d", ErrBatchOverlap, b.Key(), first, last)
		}
		res, err := s.exec(ctx, tx, `INSERT INTO run_batches (dag, topic, partition, first_offset, last_offset, messages)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, nr.DAG, b.Topic, b.Partition, b.FirstOffset, b.LastOffset, b.Messages)
		if err != nil {
			return 0, fmt.Errorf("storing batch %s: %w", b.Key(), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var existing int64
			err := tx.QueryRowContext(ctx, `SELECT r.id FROM runs r JOIN run_batches b ON r.batch_id = b.id
				WHERE b.dag = ? AND b.topic = ? AND b.partition = ? AND b.first_offset = ? AND b.last_offset = ?
				AND b.released_at IS NULL ORDER BY r.id LIMIT 1`, nr.DAG, b.Topic, b.Partition, b.FirstOffset, b.LastOffset).Scan(&existing)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return 0, err
			}
			return existing, fmt.Errorf("%w: %s (run %d)", ErrDuplicateBatch, b.Key(), existing)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return 0, err
		}
		batchID = id
	}
	var cfg any
	if len(nr.Config) > 0 {
		cfg = []byte(nr.Config)
	}
	var retryOf, rerunOf, skip any
	if nr.RetryOf != 0 {
		retryOf = nr.RetryOf
	}
	if nr.RerunOf != 0 {
		rerunOf = nr.RerunOf
		var existing int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM runs WHERE rerun_of = ? AND state IN ('queued', 'running') ORDER BY id LIMIT 1",
			nr.RerunOf).Scan(&existing)
		if err == nil {
			return existing, fmt.Errorf("%w: run %d re-runs run %d", ErrDuplicateRerun, existing, nr.RerunOf)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	if len(nr.Skip) > 0 {
		b, err := json.Marshal(nr.Skip)
		if err != nil {
			return 0, err
		}
		skip = string(b)
	}
	if nr.Trigger == TriggerSchedule && !nr.ScheduledFor.IsZero() {
		// Writers are serialised (BEGIN IMMEDIATE), so nothing can insert
		// this fire between the look and the insert; the unique index
		// runs_fire backs the look.
		var existing int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM runs WHERE dag = ? AND scheduled_for = ? AND trigger = 'schedule'",
			nr.DAG, nr.ScheduledFor.UnixNano()).Scan(&existing)
		if err == nil {
			return existing, fmt.Errorf("%w: %s at %s (run %d)", ErrDuplicateFire, nr.DAG, nr.ScheduledFor.UTC().Format(time.RFC3339Nano), existing)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	adopted := 1
	if nr.External {
		adopted = 0
	}
	var version any
	if nr.DAGVersion != 0 {
		version = nr.DAGVersion
	}
	var backfill any
	if nr.BackfillID != 0 {
		backfill = nr.BackfillID
	}
	res, err := s.exec(ctx, tx, `INSERT INTO runs (dag, state, trigger, priority, config, queued_at, batch_id, retry_of, scheduled_for, adopted, rerun_of, skip_tasks, dag_version, backfill_id)
		VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nr.DAG, nr.Trigger, nr.Priority, cfg, nr.QueuedAt.UnixNano(), batchID, retryOf, dbTime(nr.ScheduledFor), adopted, rerunOf, skip, version, backfill)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if !nr.ScheduledFor.IsZero() {
		if err := s.setLastFire(ctx, tx, nr.DAG, nr.ScheduledFor); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// StartRun moves a queued run to running and, in the same transaction,
// stores the given task rows (its first tasks' starts).
func (s *Store) StartRun(ctx context.Context, id int64, at time.Time, attempts ...Attempt) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE runs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'", at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("starting run %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("starting run %d: %w", id, ErrNotQueued)
		}
		for _, a := range attempts {
			if err := s.putAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// FinishRun settles a run, and in the same transaction the given task rows
// (the tasks the run's end settled: cancelled, skipped, upstream_failed).
func (s *Store) FinishRun(ctx context.Context, id int64, state api.RunState, errMsg string, at time.Time, settle []Attempt) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, a := range settle {
			if err := s.putAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		_, err := s.exec(ctx, tx, "UPDATE runs SET state = ?, error = ?, finished_at = ? WHERE id = ?", state, errMsg, at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("finishing run %d: %w", id, err)
		}
		return nil
	})
}

// CancelQueued cancels a run that is still queued; ErrNotQueued when it is
// not (any more), ErrNotFound when there is no such run.
func (s *Store) CancelQueued(ctx context.Context, id int64, at time.Time, reason string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE runs SET state = 'cancelled', error = ?, finished_at = ? WHERE id = ? AND state = 'queued'",
			reason, at.UnixNano(), id)
		if err != nil {
			return fmt.Errorf("cancelling run %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var state string
		if err := tx.QueryRowContext(ctx, "SELECT state FROM runs WHERE id = ?", id).Scan(&state); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("cancelling run %d: %w", id, ErrNotFound)
		} else if err != nil {
			return err
		}
		return fmt.Errorf("cancelling run %d (%s): %w", id, state, ErrNotQueued)
	})
}

// PutAttempt inserts or updates one task attempt.
func (s *Store) PutAttempt(ctx context.Context, a Attempt) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.putAttempt(ctx, tx, a) })
}

// PutAttempts stores several rows in one transaction (tasks settled
// together, such as the descendants of a failed task).
func (s *Store) PutAttempts(ctx context.Context, as []Attempt) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, a := range as {
			if err := s.putAttempt(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) putAttempt(ctx context.Context, tx *sql.Tx, a Attempt) error {
	_, err := s.exec(ctx, tx, `INSERT INTO task_attempts (run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, task, attempt) DO UPDATE SET state = excluded.state, started_at = excluded.started_at,
			finished_at = excluded.finished_at, error = excluded.error, log_tail = excluded.log_tail, log_file = excluded.log_file`,
		a.RunID, a.Task, a.Attempt, a.State, dbTime(a.StartedAt), dbTime(a.FinishedAt), a.Error, a.LogTail, a.LogFile)
	if err != nil {
		return fmt.Errorf("storing attempt %d of task %q of run %d: %w", a.Attempt, a.Task, a.RunID, err)
	}
	return nil
}

const runColumns = `r.id, r.dag, r.state, r.trigger, r.priority, r.config, r.queued_at, r.started_at, r.finished_at, r.error,
	r.batch_id, r.retry_of, r.scheduled_for, b.topic, b.partition, b.first_offset, b.last_offset, r.rerun_of, r.skip_tasks, r.instance,
	r.dag_version, r.backfill_id`

const runFrom = ` FROM runs r LEFT JOIN run_batches b ON b.id = r.batch_id `

type rowScanner interface{ Scan(dest ...any) error }

func scanRun(sc rowScanner) (Run, error) {
	var (
		r                           Run
		cfg                         []byte
		queued                      int64
		started, finished, sched    sql.NullInt64
		batchID, retryOf, partition sql.NullInt64
		first, last                 sql.NullInt64
		topic, skip                 sql.NullString
		rerunOf, version, backfill  sql.NullInt64
	)
	if err := sc.Scan(&r.ID, &r.DAG, &r.State, &r.Trigger, &r.Priority, &cfg, &queued, &started, &finished, &r.Error,
		&batchID, &retryOf, &sched, &topic, &partition, &first, &last, &rerunOf, &skip, &r.Instance, &version, &backfill); err != nil {
		return Run{}, err
	}
	r.DAGVersion, r.BackfillID = int(version.Int64), backfill.Int64
	r.RerunOf = rerunOf.Int64
	if skip.Valid && skip.String != "" {
		if err := json.Unmarshal([]byte(skip.String), &r.Skip); err != nil {
			return Run{}, fmt.Errorf("run %d: reading its skipped tasks: %w", r.ID, err)
		}
	}
	if len(cfg) > 0 {
		r.Config = json.RawMessage(cfg)
	}
	r.QueuedAt = time.Unix(0, queued)
	r.StartedAt = goTime(started)
	r.FinishedAt = goTime(finished)
	r.ScheduledFor = goTime(sched)
	r.BatchID = batchID.Int64
	r.RetryOf = retryOf.Int64
	if topic.Valid {
		r.Batch = Batch{Topic: topic.String, Partition: int32(partition.Int64), FirstOffset: first.Int64, LastOffset: last.Int64}.Key()
	}
	return r, nil
}

func queryRuns(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where string, args ...any) ([]Run, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+runColumns+runFrom+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// Run returns one run; ErrNotFound when there is none.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, "SELECT "+runColumns+runFrom+"WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("reading run %d: %w", id, err)
	}
	return r, nil
}

// ListOptions filter ListRuns.
type ListOptions struct {
	DAG    string         // empty: every DAG
	States []api.RunState // empty: every state
	Limit  int            // 0: no limit
}

// ListRuns returns runs, newest first.
func (s *Store) ListRuns(ctx context.Context, o ListOptions) ([]Run, error) {
	var (
		conds []string
		args  []any
	)
	if o.DAG != "" {
		conds = append(conds, "r.dag = ?")
		args = append(args, o.DAG)
	}
	if len(o.States) > 0 {
		conds = append(conds, "r.state IN (?"+strings.Repeat(", ?", len(o.States)-1)+")")
		for _, st := range o.States {
			args = append(args, st)
		}
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	where += " ORDER BY r.id DESC"
	if o.Limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", o.Limit)
	}
	runs, err := queryRuns(ctx, s.db, where, args...)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return runs, nil
}

// ClaimQueued marks every queued run adopted by this engine and returns them
// all in id order: the queue an engine starts with.
func (s *Store) ClaimQueued(ctx context.Context) ([]Run, error) {
	var runs []Run
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET adopted = 1 WHERE adopted = 0"); err != nil {
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
// call, marking them adopted. Cheap when there are none: one read of a
// partial index, no write.
func (s *Store) ClaimExternal(ctx context.Context) ([]Run, error) {
	var pending int
	if err := s.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM runs WHERE adopted = 0)").Scan(&pending); err != nil {
		return nil, fmt.Errorf("polling for new runs: %w", err)
	}
	if pending == 0 {
		return nil, nil
	}
	var runs []Run
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		runs, err = queryRuns(ctx, tx, "WHERE r.adopted = 0 ORDER BY r.id")
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE runs SET adopted = 1 WHERE adopted = 0")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("adopting new runs: %w", err)
	}
	return runs, nil
}

// FinishedCount is the number of finished runs (succeeded, failed or
// cancelled), counted once when the run history is loaded.
func (s *Store) FinishedCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM runs WHERE state NOT IN ('queued', 'running')").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting finished runs: %w", err)
	}
	return n, nil
}

// QueuedCount is the number of queued runs of a DAG (every DAG when dag is
// empty), for sensors' backpressure.
func (s *Store) QueuedCount(ctx context.Context, dag string) (int, error) {
	var n int
	var err error
	if dag == "" {
		err = s.db.QueryRowContext(ctx, "SELECT count(*) FROM runs WHERE state = 'queued'").Scan(&n)
	} else {
		err = s.db.QueryRowContext(ctx, "SELECT count(*) FROM runs WHERE dag = ? AND state = 'queued'", dag).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("counting queued runs: %w", err)
	}
	return n, nil
}

// Tasks returns, for each run, the latest row of each of its tasks, ordered
// by task name.
func (s *Store) Tasks(ctx context.Context, runIDs ...int64) (map[int64][]Attempt, error) {
	out := make(map[int64][]Attempt, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	// Chunked to stay below SQLite's bound-parameter limit.
	for len(runIDs) > 0 {
		chunk := runIDs[:min(len(runIDs), 500)]
		runIDs = runIDs[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, `SELECT run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file
			FROM task_attempts a WHERE run_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)
			AND attempt = (SELECT max(attempt) FROM task_attempts b WHERE b.run_id = a.run_id AND b.task = a.task)
			ORDER BY run_id, task`, args...)
		if err != nil {
			return nil, fmt.Errorf("reading tasks: %w", err)
		}
		for rows.Next() {
			var a Attempt
			var started, finished sql.NullInt64
			if err := rows.Scan(&a.RunID, &a.Task, &a.Attempt, &a.State, &started, &finished, &a.Error, &a.LogTail, &a.LogFile); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading tasks: %w", err)
			}
			a.StartedAt, a.FinishedAt = goTime(started), goTime(finished)
			out[a.RunID] = append(out[a.RunID], a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("reading tasks: %w", err)
		}
	}
	return out, nil
}

// Attempts returns every attempt of a run's task, oldest first.
func (s *Store) Attempts(ctx context.Context, runID int64, task string) ([]Attempt, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, task, attempt, state, started_at, finished_at, error, log_tail, log_file
		FROM task_attempts WHERE run_id = ? AND task = ? ORDER BY attempt`, runID, task)
	if err != nil {
		return nil, fmt.Errorf("reading attempts: %w", err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var started, finished sql.NullInt64
		if err := rows.Scan(&a.RunID, &a.Task, &a.Attempt, &a.State, &started, &finished, &a.Error, &a.LogTail, &a.LogFile); err != nil {
			return nil, err
		}
		a.StartedAt, a.FinishedAt = goTime(started), goTime(finished)
		out = append(out, a)
	}
	return out, rows.Err()
}

// BatchMessages returns the messages of a stored batch.
func (s *Store) BatchMessages(ctx context.Context, batchID int64) ([]byte, error) {
	var msgs []byte
	if err := s.db.QueryRowContext(ctx, "SELECT messages FROM run_batches WHERE id = ?", batchID).Scan(&msgs); err != nil {
		return nil, fmt.Errorf("reading batch %d: %w", batchID, err)
	}
	return msgs, nil
}

// Interrupted is a run a crash left running, as Recover settled it.
type Interrupted struct {
	Run Run // as it was found (state running)
	// Requeued is the id of the run queued to re-run it; 0 when the run was
	// only marked failed.
	Requeued int64
}

// InterruptedError is the error an interrupted run is marked failed with.
const InterruptedError = "interrupted: the engine stopped while the run was running"

// Recover settles the runs a crash left running, in one transaction: each is
// marked failed (interrupted) with its unfinished attempts, and re-queued
// (same DAG, config, priority and batch; trigger recovery) when retry says
// so. Nothing is left running, nothing is dropped. The runs' recorded task
// processes are forgotten: stop them first (RunningProcesses).
func (s *Store) Recover(ctx context.Context, at time.Time, retry func(Run) bool) ([]Interrupted, error) {
	return s.recoverWhere(ctx, at, retry, "")
}

// recoverWhere is Recover limited to running runs matching cond (an AND
// clause on r; "" for all).
func (s *Store) recoverWhere(ctx context.Context, at time.Time, retry func(Run) bool, cond string, args ...any) ([]Interrupted, error) {
	var out []Interrupted
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		runs, err := queryRuns(ctx, tx, "WHERE r.state = 'running' "+cond+" ORDER BY r.id", args...)
		if err != nil {
			return err
		}
		for _, r := range runs {
			if _, err := tx.ExecContext(ctx, `UPDATE task_attempts SET state = 'failed', finished_at = ?, error = ?
				WHERE run_id = ? AND state IN ('running', 'retrying')`, at.UnixNano(), InterruptedError, r.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE runs SET state = 'failed', error = ?, finished_at = ? WHERE id = ?",
				InterruptedError, at.UnixNano(), r.ID); err != nil {
				return err
			}
			// The caller has stopped the run's processes (or they were gone).
			if _, err := tx.ExecContext(ctx, "DELETE FROM task_processes WHERE run_id = ?", r.ID); err != nil {
				return err
			}
			in := Interrupted{Run: r}
			if retry != nil && retry(r) {
				in.Requeued, err = s.createRun(ctx, tx, NewRun{
					DAG: r.DAG, Trigger: TriggerRecovery, Priority: r.Priority, Config: r.Config,
					QueuedAt: at, RetryOf: r.ID, batchID: r.BatchID, Skip: r.Skip, DAGVersion: r.DAGVersion,
				})
				if err != nil {
					return err
				}
			}
			out = append(out, in)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recovering interrupted runs: %w", err)
	}
	return out, nil
}
