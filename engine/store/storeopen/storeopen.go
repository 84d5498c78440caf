// Package storeopen picks the store implementation a URL names: empty or
// "sqlite" is the SQLite file in the state dir (the embedded default),
// postgres://… (or postgresql://…) a PostgreSQL database shared by several
// instances. It is the one place that imports both implementations, so
// neither engine/store nor its users link pgx unless they open through it.
package storeopen

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// Kinds of store.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options tune Open; each implementation reads its own.
type Options struct {
	// SQLite: store.SyncFull (default) or store.SyncNormal, and the wait
	// for another process's write lock.
	Synchronous string
	BusyTimeout time.Duration
	// PostgreSQL: the connection pool's bound (0: pgx's default).
	MaxConns int32
	Logger   *slog.Logger
}

// Kind says which implementation url selects, or fails naming the
// (redacted) URL.
func Kind(url string) (string, error) {
	switch {
	case url == "" || url == SQLite:
		return SQLite, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, nil
	}
	return "", fmt.Errorf("store %q: want empty or %q (SQLite in the state dir) or postgres://user@host:port/db", store.Redact(url), SQLite)
}

// Shared reports whether several processes may use the store at once
// (PostgreSQL), so the state dir's single-engine lock does not apply.
func Shared(url string) bool {
	k, err := Kind(url)
	return err == nil && k == Postgres
}

// Open opens the store url names; stateDir holds the SQLite file. Errors
// never carry the URL's password.
func Open(ctx context.Context, url, stateDir string, opts Options) (store.Interface, error) {
	kind, err := Kind(url)
	if err != nil {
		return nil, err
	}
	if kind == Postgres {
		return postgres.Open(ctx, url, postgres.Options{MaxConns: opts.MaxConns, Logger: opts.Logger})
	}
	if stateDir == "" {
		return nil, fmt.Errorf("opening the SQLite store: no state dir")
	}
	return store.OpenDir(ctx, stateDir, store.Options{Synchronous: opts.Synchronous, BusyTimeout: opts.BusyTimeout, Logger: opts.Logger})
}
