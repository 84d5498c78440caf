// Package store holds the store contract (Interface, contract.go) with its
// shared types, and its embedded default implementation: Sluice's state in
// one SQLite file (modernc.org/sqlite, pure Go) — runs, task attempts, the
// batches sensor runs carry, schedules' last fire times, sensor ticks,
// review items and task processes. engine/store/postgres is the other
// implementation; engine/store/storeopen picks one from a URL.
//
// Every write goes through one writer goroutine that commits whatever writes
// are waiting in a single transaction (group commit), each in its own
// savepoint, and answers each caller only once its transaction is durable.
// That keeps the rule "committed before acknowledged or published" without
// paying one fsync per write.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DBFile is the name of the database file in the state dir.
const DBFile = "sluice.db"

// Synchronous modes Options accept.
const (
	// SyncFull fsyncs the WAL on every commit: a committed state change
	// survives a power loss.
	SyncFull = "FULL"
	// SyncNormal fsyncs only at checkpoints: a power loss (not a process
	// crash) may roll back the last commits. The database is never corrupted.
	SyncNormal = "NORMAL"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store closed")

// Options tune Open.
type Options struct {
	// Synchronous is SyncFull (default) or SyncNormal.
	Synchronous string
	// BusyTimeout bounds the wait for another process's write lock
	// (sluice trigger writing while an engine runs). Default 10s.
	BusyTimeout time.Duration
	Logger      *slog.Logger
}

// Store is the SQLite database. Methods are safe for concurrent use.
type Store struct {
	// db serves reads (and the writer's dedicated connection). Files of this
	// package read through it and write through write().
	db   *sql.DB
	path string
	log  *slog.Logger

	ops     chan *writeOp
	closing chan struct{}
	stopped chan struct{}
	wconn   *sql.Conn

	closeOnce sync.Once

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// writeOp is one caller's write, done inside the group's transaction.
type writeOp struct {
	fn   func(tx *sql.Tx) error
	done chan error
}

// maxGroup bounds how many writes share one transaction, so one commit never
// holds the lock for long.
const maxGroup = 512

// OpenDir creates dir (0700) if needed and opens dir/DBFile.
func OpenDir(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	return Open(ctx, filepath.Join(dir, DBFile), opts)
}

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the writer.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	syncMode := opts.Synchronous
	if syncMode == "" {
		syncMode = SyncFull
	}
	if syncMode != SyncFull && syncMode != SyncNormal {
		return nil, fmt.Errorf("opening store: synchronous must be FULL or NORMAL, not %q", syncMode)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)&_pragma=foreign_keys(ON)&_txlock=immediate",
		path, busy.Milliseconds(), syncMode)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	s := &Store{
		db:      db,
		path:    path,
		log:     log,
		ops:     make(chan *writeOp, maxGroup),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
		stmts:   map[string]*sql.Stmt{},
	}
	if err := migrate(ctx, db, log); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating store %s: %w", path, err)
	}
	s.wconn, err = db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	go s.writer()
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close waits for pending writes, stops the writer and closes the database.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.stopped
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		s.stmtMu.Unlock()
		s.wconn.Close()
		err = s.db.Close()
	})
	return err
}

// write runs fn in a write transaction shared with other waiting writes and
// returns once that transaction committed (nil) or fn's changes were rolled
// back (fn's error, or the commit's). fn is called exactly once, on the
// writer's goroutine; it must not start writes of its own.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	select {
	case s.ops <- op:
	case <-s.closing:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, the write may already be committing: report its
	// outcome rather than the caller's deadline. A write that slipped in
	// after the writer's last drain is answered by its exit.
	select {
	case err := <-op.done:
		return err
	case <-s.stopped:
		select {
		case err := <-op.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// writer owns the write connection: it takes every waiting op, runs them in
// one transaction and answers each after the commit.
func (s *Store) writer() {
	defer close(s.stopped)
	group := make([]*writeOp, 0, maxGroup)
	for {
		var first *writeOp
		select {
		case first = <-s.ops:
		case <-s.closing:
			// Finish what was handed over before Close.
			for {
				select {
				case op := <-s.ops:
					s.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
	drain:
		for len(group) < maxGroup {
			select {
			case op := <-s.ops:
				group = append(group, op)
			default:
				break drain
			}
		}
		s.commit(group)
	}
}

// commit runs a group in one transaction, each op inside a savepoint so that
// one op's failure rolls back only its own changes.
func (s *Store) commit(group []*writeOp) {
	ctx := context.Background()
	errs := make([]error, len(group))
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		for _, op := range group {
			op.done <- fmt.Errorf("beginning write: %w", err)
		}
		return
	}
	single := len(group) == 1
	for i, op := range group {
		if single {
			errs[i] = op.fn(tx)
			continue
		}
		if _, err := s.exec(ctx, tx, "SAVEPOINT w"); err != nil {
			errs[i] = err
			continue
		}
		if errs[i] = op.fn(tx); errs[i] != nil {
			if _, err := s.exec(ctx, tx, "ROLLBACK TO w"); err != nil {
				s.log.Error("store: rolling back to savepoint", "err", err)
			}
		}
		if _, err := s.exec(ctx, tx, "RELEASE w"); err != nil {
			s.log.Error("store: releasing savepoint", "err", err)
		}
	}
	if single && errs[0] != nil {
		tx.Rollback()
		group[0].done <- errs[0]
		return
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		for _, op := range group {
			op.done <- fmt.Errorf("committing: %w", err)
		}
		return
	}
	for i, op := range group {
		op.done <- errs[i]
	}
}

// exec runs a statement inside a write transaction, prepared once and
// reused: parsing SQL would otherwise cost as much as executing it.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// dbTime turns a time into the stored form: Unix nanoseconds, NULL for zero.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// goTime is dbTime's inverse.
func goTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64)
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict ("ok"
// when the file is sound).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("integrity check: %w", err)
	}
	return res, nil
}
