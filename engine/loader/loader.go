// Package loader finds DAG files in sources (a local folder, an S3 bucket),
// detects changes without rereading, and keeps the registry of loaded DAGs.
//
// CONTRACT STUB: the API below is what the engine wires; being implemented
// (issue 3).
package loader

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/snapshot"
)

// Config says where DAGs come from.
type Config struct {
	Dir          string        // local folder; empty: no local source
	ScanInterval time.Duration // periodic rescan (default 30s)
	Enabled      bool          // DAGS_ENABLED: false loads nothing
	S3Bucket     string        // empty: no S3 source
	S3Prefix     string
	S3Endpoint   string // AWS_ENDPOINT_URL_S3 override, for tests and MinIO
	S3PathStyle  *bool  // default true when S3Endpoint is set
	// Env answers env() in Starlark files; nil uses the process environment.
	Env func(string) (string, bool)
}

// Loader owns the sources and the registry.
type Loader struct {
	changes chan struct{}
}

// New prepares a loader; Start begins watching.
func New(cfg Config, log *slog.Logger) (*Loader, error) {
	return &Loader{changes: make(chan struct{}, 1)}, nil
}

// Start performs the initial scan of every source and begins watching.
func (l *Loader) Start(ctx context.Context) error { return errors.New("loader: not implemented yet") }

// Stop ends watching and waits for the loader's goroutines.
func (l *Loader) Stop() {}

// ScanNow scans every source and returns when done.
func (l *Loader) ScanNow(ctx context.Context) (snapshot.ScanResult, error) {
	return snapshot.ScanResult{}, errors.New("loader: not implemented yet")
}

// DAGs returns the registry, sorted by name. The slice is the caller's.
func (l *Loader) DAGs() []snapshot.DAG { return nil }

// Sources returns each source's health.
func (l *Loader) Sources() []snapshot.Source { return nil }

// Lookup returns the active definition of a DAG: the current one, or the
// last good one of an invalid file. Disabled and unknown DAGs are not found.
func (l *Loader) Lookup(name string) (*dag.DAG, bool) { return nil, false }

// Changes signals (coalesced, never blocking the loader) that the registry
// or a source's health changed.
func (l *Loader) Changes() <-chan struct{} { return l.changes }
