package engine

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/loader"
)

// DAGListing is what one scan of every DAG source found.
type DAGListing struct {
	Scan    api.ScanResult
	DAGs    []api.DAG
	Sources []api.Source
}

// errNotOffline: an offline-only operation on a running engine.
var errNotOffline = errors.New("engine: watching DAGs is an offline operation")

// offlineLoader builds a DAG loader of the configured sources for an
// offline operation; the caller owns it.
func (e *Engine) offlineLoader() (*loader.Loader, error) {
	return loader.New(e.cfg.loaderConfig(), e.log)
}

// loaderConfig is the loading configuration with the git mirrors in the
// state dir (StateDir/git) unless set.
func (c Config) loaderConfig() loader.Config {
	lc := c.Loader
	if lc.Clock == nil {
		lc.Clock = c.Clock
	}
	if lc.GitMirrorDir == "" && c.StateDir != "" {
		lc.GitMirrorDir = filepath.Join(c.StateDir, "git")
	}
	return lc
}

// ListDAGs scans every DAG source once and lists what it found, each
// source's health included. A source that could not be read is reported
// in the listing and as an error wrapping loader.ErrSourceFailed; other
// errors mean no listing. A running engine answers from its own loader.
func (e *Engine) ListDAGs(ctx context.Context) (DAGListing, error) {
	src := e.dags
	if e.off != nil {
		l, err := e.offlineLoader()
		if err != nil {
			return DAGListing{}, err
		}
		src = l
	}
	res, err := src.ScanNow(ctx)
	if err != nil && !errors.Is(err, loader.ErrSourceFailed) {
		return DAGListing{}, err
	}
	return DAGListing{Scan: res, DAGs: src.DAGs(), Sources: src.Sources()}, err
}

// WatchDAGs runs a DAG loader of the configured sources, offline, and
// calls changed with every DAG and source after the initial load and after
// each change, until ctx ends (then it returns nil). An error is the
// loader's failing to start.
func (e *Engine) WatchDAGs(ctx context.Context, changed func(dags []api.DAG, sources []api.Source)) error {
	if e.off == nil {
		return errNotOffline
	}
	l, err := e.offlineLoader()
	if err != nil {
		return err
	}
	if err := l.Start(ctx); err != nil {
		return err
	}
	defer l.Stop()
	for {
		changed(l.DAGs(), l.Sources())
		select {
		case <-ctx.Done():
			return nil
		case <-l.Changes():
		}
	}
}
