// Package postgres is the store contract (store.Interface) on PostgreSQL,
// through pgx: a connection pool whose statements are prepared once per
// connection and cached. Several Sluice processes share one database.
//
// Each write is its own transaction, except on a run's hot path — a plain
// new run, a claimed run's task rows and its end — where concurrent calls
// of one kind share one statement (group.go): one round trip, one commit
// for all of them.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-dev/sluice/engine/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the pg_advisory_lock key that serialises migrations
// across processes ("sluice" in ASCII).
const migrationLock int64 = 0x736c75696365

// Options tune Open.
type Options struct {
	// MaxConns bounds the pool; 0 is pgx's default (4 or the CPU count).
	MaxConns int32
	Logger   *slog.Logger
}

// Store is a PostgreSQL database holding Sluice's state. Methods are safe
// for concurrent use, within and across processes.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	closed atomic.Bool

	// Group commit of the run's hot path (group.go).
	creates        *group[store.NewRun]
	puts, finishes *group[claimedWrite]
	// syncClaims commits claims with their flush under the claim lock, as
	// before flushClaimSQL: only for the benchmark's side-by-side.
	syncClaims bool
}

var _ store.Interface = (*Store)(nil)

// Open connects to the database at url (postgres://user@host:port/db?…;
// the password from the URL, PGPASSWORD or ~/.pgpass as libpq finds it),
// applies pending migrations under an advisory lock and returns the store.
// Errors never contain the URL's password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors may quote the URL: keep only the redacted form.
		return nil, fmt.Errorf("parsing store URL %s: %s", store.Redact(url), store.Redact(err.Error()))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", store.Redact(url), err)
	}
	s := &Store{pool: pool, log: log}
	s.creates = &group[store.NewRun]{flights: groupFlights, max: groupMax, flush: s.flushCreates}
	s.puts, s.finishes = claimedGroup(s.flushPuts), claimedGroup(s.flushFinishes)
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrating %s: %w", store.Redact(url), err)
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.pool.Close()
	}
	return nil
}

// Pool is the connection pool, for tests and the coordination code that
// shares the database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// tx runs fn in a transaction and commits it, or rolls it back when fn
// fails.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// q is what reads go through: the pool, or ErrClosed after Close.
func (s *Store) q() (*pgxpool.Pool, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	return s.pool, nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := store.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// Session-level: held across the migrations' own transactions, and
	// released by the server if this process dies holding it.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
			s.log.Error("store: releasing the migration lock", "err", err)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil || done {
				return err
			}
			// Simple protocol: a migration file holds several statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, time.Now().UnixNano()); err != nil {
				return err
			}
			s.log.Info("store: applied migration", "version", m.Version, "name", m.Name)
			return nil
		})
		if err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// AppliedMigrations lists the versions recorded in the database, ascending.
func (s *Store) AppliedMigrations(ctx context.Context) ([]int, error) {
	db, err := s.q()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// dbTime turns a time into the stored form: Unix nanoseconds, NULL for zero.
func dbTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// goTime is dbTime's inverse.
func goTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n)
}

// Size is the database's size on disk, for `sluice status`.
func (s *Store) Size(ctx context.Context) (int64, error) {
	db, err := s.q()
	if err != nil {
		return 0, err
	}
	var n int64
	if err := db.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		return 0, fmt.Errorf("reading the database size: %w", err)
	}
	return n, nil
}
