package engine

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/loader"
)

// FileCheck is the outcome of checking one DAG file.
type FileCheck struct {
	Path string // as found: the named file, or below the named folder
	DAG  string // the name it loads as
	// Errors are the file's problems; none: it is valid.
	Errors dag.Errors
	// Err: the file could not be read at all.
	Err error
}

// Validate checks a DAG file, or every DAG file below a folder that the
// loader would read — the loader's own listing, so its skip rules (hidden
// entries, editor leftovers, symlink loops) are the ones applied. A file
// named directly is checked whatever its name: the user named it. The
// problems are the listing's notes (a skipped symlink loop, say).
func (e *Engine) Validate(ctx context.Context, root string) (checks []FileCheck, problems []string, err error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, nil, err
	}
	opts := dag.Options{Env: e.cfg.Loader.Env, EnvAllow: e.cfg.Loader.EnvAllow}
	if !info.IsDir() {
		errs, err := checkFile(root, opts)
		return []FileCheck{{Path: root, DAG: dag.NameFromPath(filepath.Base(root)), Errors: errs, Err: err}}, nil, nil
	}
	listing, err := loader.NewLocalSource(root).List(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range listing.Objects {
		if err := ctx.Err(); err != nil {
			return checks, listing.Problems, err
		}
		path := filepath.Join(root, filepath.FromSlash(o.Key))
		c := FileCheck{Path: path, DAG: dag.NameFromPath(o.Key)}
		if o.Err != nil {
			c.Err = fmt.Errorf("%s: %w", path, o.Err)
		} else {
			c.Errors, c.Err = checkFile(path, opts)
		}
		checks = append(checks, c)
	}
	return checks, listing.Problems, nil
}

// checkFile returns the problems of one file; err only when the file
// cannot be read at all.
func checkFile(path string, opts dag.Options) (dag.Errors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	// Never read a huge file whole just to refuse it.
	if info.Size() > dag.MaxFileSize {
		return dag.Errors{dag.TooLarge(path, info.Size())}, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, dag.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	_, err = dag.Parse(path, data, opts)
	return dag.AsErrors(path, err), nil
}
