package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/fsnotify/fsnotify"

	"github.com/sluice-dev/sluice/engine/dag"
)

// SourceLocal and SourceS3 are the names of the two kinds of source.
const (
	SourceLocal = "local"
	SourceS3    = "s3"
)

// localSource is a folder, walked recursively. Directory symlinks are
// followed (a loop back to an ancestor is reported and skipped). With a
// watcher, every folder it walks is watched before it is read, so a file
// created the instant after a walk still raises an event.
type localSource struct {
	root string

	mu      sync.Mutex // guards watcher and watched
	watcher *fsnotify.Watcher
	watched map[string]bool
}

// NewLocalSource returns a source that reads DAG files below root.
func NewLocalSource(root string) Source {
	return &localSource{root: filepath.Clean(root)}
}

func (s *localSource) Name() string     { return SourceLocal }
func (s *localSource) Location() string { return s.root }

// List walks the folder. Only metadata is read: the version of a file is its
// (size, mtime, inode), so unchanged files are never opened.
func (s *localSource) List(ctx context.Context) (Listing, error) {
	fi, err := os.Stat(s.root)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		s.forgetWatches(nil) // a folder that comes back is watched afresh
		// The loader names the source and its location: the path once.
		return Listing{}, fmt.Errorf("reading the folder: %w", withoutPath(err))
	}
	w := &walk{src: s, ctx: ctx, seen: make(map[string]bool)}
	if err := w.dir(s.root, "", []fileID{idOf(fi)}); err != nil {
		return Listing{}, err
	}
	s.forgetWatches(w.seen)
	return w.out, nil
}

// walk is the state of one List.
type walk struct {
	src  *localSource
	ctx  context.Context
	out  Listing
	seen map[string]bool // folders walked, for pruning watches
}

func (w *walk) problem(format string, args ...any) {
	w.out.Problems = append(w.out.Problems, fmt.Sprintf(format, args...))
}

func (w *walk) dir(abs, rel string, ancestors []fileID) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	w.seen[abs] = true
	if err := w.src.watchDir(abs); err != nil {
		w.problem("watching %s: %v (changes there wait for the periodic scan)", abs, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		if rel == "" {
			return fmt.Errorf("reading the folder: %w", withoutPath(err))
		}
		w.problem("reading folder %s: %v", abs, err)
		w.out.Incomplete = append(w.out.Incomplete, rel+"/")
		// ReadDir may have returned the entries it read before failing;
		// they are still listed, and nothing below is taken as deleted.
	}
	if len(entries) == 0 && err == nil && rel != "" {
		w.out.EmptyFolders = append(w.out.EmptyFolders, rel+"/")
	}
	for _, e := range entries {
		name := e.Name()
		if ignoredName(name) {
			continue
		}
		childAbs := filepath.Join(abs, name)
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		typ := e.Type()
		var info fs.FileInfo
		if typ&fs.ModeSymlink != 0 {
			info, err = os.Stat(childAbs)
			if err != nil {
				if dag.IsDAGFile(name) {
					w.file(childAbs, childRel, nil, fmt.Errorf("following symlink: %w", err))
				} else if errors.Is(err, syscall.ELOOP) {
					w.problem("symlink loop at %s: skipped", childAbs)
				}
				continue
			}
			typ = info.Mode().Type()
		}
		switch {
		case typ.IsDir():
			if info == nil {
				if info, err = e.Info(); err != nil {
					w.problem("reading folder %s: %v", childAbs, err)
					w.out.Incomplete = append(w.out.Incomplete, childRel+"/")
					continue
				}
			}
			id := idOf(info)
			if id != (fileID{}) && containsID(ancestors, id) {
				w.problem("symlink loop at %s: it leads back to a parent folder; skipped", childAbs)
				continue
			}
			if len(ancestors) > maxDepth {
				w.problem("folder %s is nested deeper than %d levels: skipped", childAbs, maxDepth)
				continue
			}
			if err := w.dir(childAbs, childRel, append(ancestors[:len(ancestors):len(ancestors)], id)); err != nil {
				return err
			}
		case !dag.IsDAGFile(name):
			continue
		case typ.IsRegular():
			if info == nil {
				if info, err = e.Info(); err != nil {
					// Removed between ReadDir and Lstat: gone is gone.
					if !errors.Is(err, fs.ErrNotExist) {
						w.file(childAbs, childRel, nil, err)
					}
					continue
				}
			}
			w.file(childAbs, childRel, info, nil)
		default:
			w.file(childAbs, childRel, nil, fmt.Errorf("not a regular file (%s)", typ))
		}
	}
	return nil
}

func (w *walk) file(abs, rel string, info fs.FileInfo, err error) {
	o := Object{Key: rel, Location: abs, Err: err}
	if info != nil {
		o.Size = info.Size()
		o.Version = strconv.FormatInt(info.Size(), 10) + ":" +
			strconv.FormatInt(info.ModTime().UnixNano(), 10) + ":" +
			strconv.FormatUint(idOf(info).ino, 10)
	}
	w.out.Objects = append(w.out.Objects, o)
}

// Read opens without blocking (a FIFO swapped in since the listing must not
// hang the scan) and reads at most one byte past dag.MaxFileSize, enough for
// the parser to refuse an oversized file.
func (s *localSource) Read(ctx context.Context, o Object) ([]byte, error) {
	f, err := os.OpenFile(o.Location, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() > dag.MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", dag.ErrTooLarge, fi.Size(), dag.MaxFileSize)
	}
	return io.ReadAll(io.LimitReader(f, dag.MaxFileSize+1))
}

// startWatching creates the notification watcher; folders are added to it
// as List walks them.
func (s *localSource) startWatching() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %q: %w", s.root, err)
	}
	s.mu.Lock()
	s.watcher, s.watched = w, make(map[string]bool)
	s.mu.Unlock()
	return nil
}

func (s *localSource) watchDir(abs string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watcher == nil || s.watched[abs] {
		return nil
	}
	if err := s.watcher.Add(abs); err != nil {
		return err
	}
	s.watched[abs] = true
	return nil
}

// forgetWatches drops folders that are gone, so a folder recreated under the
// same name is watched again.
func (s *localSource) forgetWatches(seen map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for dir := range s.watched {
		if !seen[dir] {
			_ = s.watcher.Remove(dir) // the kernel may have dropped it already
			delete(s.watched, dir)
		}
	}
}

func (s *localSource) unwatch(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watched[dir] {
		_ = s.watcher.Remove(dir) // often already gone with the folder
		delete(s.watched, dir)
	}
}

// watch relays file-system events as calls to changed until ctx ends, then
// closes the watcher. Errors (a queue overflow among them) also call changed:
// a rescan is the answer to lost events.
func (s *localSource) watch(ctx context.Context, changed func(), onError func(error)) {
	s.mu.Lock()
	w := s.watcher
	s.mu.Unlock()
	if w == nil {
		return
	}
	defer s.stopWatching()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod || ignoredName(filepath.Base(ev.Name)) {
				continue
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				// A folder removed or moved loses its watch; forgetting it
				// lets the next walk watch whatever now has the name.
				s.unwatch(ev.Name)
			}
			changed()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			onError(err)
			changed()
		}
	}
}

// maxDepth bounds the walk where inodes cannot tell a loop.
const maxDepth = 64

func (s *localSource) stopWatching() {
	s.mu.Lock()
	w := s.watcher
	s.watcher, s.watched = nil, nil
	s.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

// fileID identifies a file across renames of its path: device and inode.
type fileID struct{ dev, ino uint64 }

func containsID(ids []fileID, id fileID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// withoutPath drops the path (and the system call) an os error repeats
// ("stat /srv/dags: no such file"), for a message whose context names the
// path already; the cause stays (errors.Is(err, fs.ErrNotExist) holds).
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
