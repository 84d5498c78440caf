package loader

import (
	"context"
	"path"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
)

// Source is one place DAG files live. List is cheap (metadata only); Read
// fetches one file's bytes. The loader decides from Object.Version which
// files to read, so a source never rereads on its own.
type Source interface {
	// Name is "local", "s3" or "git": the Source of every DAG it yields.
	Name() string
	// Location is the folder, s3://bucket/prefix or URL#ref:path, for
	// health reports.
	Location() string
	// List returns every DAG file of the source. An error means the listing
	// could not be completed: the loader then changes nothing for this
	// source, so a failed listing never looks like a mass deletion.
	List(ctx context.Context) (Listing, error)
	// Read returns the content of a listed file.
	Read(ctx context.Context, o Object) ([]byte, error)
}

// Object is one DAG file as a listing sees it.
type Object struct {
	// Key is the slash-separated path below the source root, extension
	// included ("production/daily_etl.json"). The DAG name derives from it.
	Key string
	// Location is what a human opens: a file path or s3://bucket/key.
	Location string
	// Version changes whenever the content may have changed: (size, mtime,
	// inode) for files, (ETag, size) for objects, the blob hash in git.
	Version string
	Size    int64
	// Origin is the git commit this version of the file comes from; nil
	// for other sources.
	Origin *api.Commit
	// Err is set when the file is listed but cannot be read (a FIFO, a
	// dangling symlink, a symlink loop): it is reported on the DAG.
	Err error
}

// Listing is the result of one List.
type Listing struct {
	Objects []Object
	// Problems are entries skipped for a reason worth reporting (a directory
	// symlink loop, an unreadable folder, a refused S3 key). Not fatal.
	Problems []string
	// Incomplete are key prefixes ("reports/") below which the listing is
	// known to be partial: files there are not taken as deleted.
	Incomplete []string
	// EmptyFolders are the subfolders ("team/") that exist and hold no
	// entry at all: where a volume may have been mounted.
	EmptyFolders []string
	// Commit is the git commit listed; nil for other sources.
	Commit *api.Commit
	// Stale, when set, says the listing is the last good one the source
	// kept on disk (a git mirror's accepted commit) because asking for a
	// fresh one failed: its files load, and the source reads as failed.
	Stale error
}

// ignoredName reports whether a file or folder name is skipped: hidden
// entries and editor leftovers (emacs .#x and #x#, vim .swp, backups x~).
func ignoredName(name string) bool {
	switch {
	case name == "" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#"):
		return true
	case strings.HasSuffix(name, "~"), strings.HasSuffix(name, ".swp"),
		strings.HasSuffix(name, ".swx"), strings.HasSuffix(name, ".tmp"):
		return true
	}
	return false
}

// isDAGKey reports whether a key names a DAG file the loader reads: a DAG
// extension and no ignored element anywhere on its path.
func isDAGKey(key string) bool {
	if !dag.IsDAGFile(key) {
		return false
	}
	for _, part := range strings.Split(key, "/") {
		if ignoredName(part) {
			return false
		}
	}
	return true
}

// safeKey reports whether a key below a root is a plain relative path:
// not absolute, no "..", no empty or "." elements.
func safeKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return false
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return path.Clean(key) == key
}

// underAny reports whether key lies below one of the prefixes.
func underAny(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if p == "" || strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
