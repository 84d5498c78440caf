package review

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// edits maps a repository path to its new content; a nil value deletes it.
type edits map[string][]byte

// buildTree writes the tree that is base with the edits applied, reusing
// every untouched subtree by hash: only the directories on an edited path
// are written, so the cost follows the edit, not the repository's size.
func buildTree(st storer.EncodedObjectStorer, base *object.Tree, ed edits) (plumbing.Hash, error) {
	h, _, err := buildSubtree(st, base, ed)
	return h, err
}

// buildSubtree returns the new tree's hash and whether it has any entry.
func buildSubtree(st storer.EncodedObjectStorer, base *object.Tree, ed edits) (plumbing.Hash, bool, error) {
	entries := map[string]object.TreeEntry{}
	if base != nil {
		for _, e := range base.Entries {
			entries[e.Name] = e
		}
	}
	sub := map[string]edits{}
	for p, content := range ed {
		dir, rest, nested := strings.Cut(p, "/")
		if nested {
			if sub[dir] == nil {
				sub[dir] = edits{}
			}
			sub[dir][rest] = content
			continue
		}
		if content == nil {
			delete(entries, p)
			continue
		}
		h, err := writeBlob(st, content)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		mode := filemode.Regular
		if old, ok := entries[p]; ok && old.Mode == filemode.Executable {
			mode = old.Mode
		}
		entries[p] = object.TreeEntry{Name: p, Mode: mode, Hash: h}
	}
	for dir, ed := range sub {
		var subBase *object.Tree
		if old, ok := entries[dir]; ok && old.Mode == filemode.Dir {
			t, err := object.GetTree(st, old.Hash)
			if err != nil {
				return plumbing.ZeroHash, false, fmt.Errorf("reading tree %s: %w", dir, err)
			}
			subBase = t
		}
		h, nonEmpty, err := buildSubtree(st, subBase, ed)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if !nonEmpty {
			// git has no empty directories: a folder whose last file
			// went disappears with it.
			delete(entries, dir)
			continue
		}
		entries[dir] = object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h}
	}
	t := &object.Tree{}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	sort.Sort(object.TreeEntrySorter(t.Entries))
	obj := st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("encoding tree: %w", err)
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("writing tree: %w", err)
	}
	return h, len(t.Entries) > 0, nil
}

func writeBlob(st storer.EncodedObjectStorer, content []byte) (plumbing.Hash, error) {
	obj := st.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	obj.SetSize(int64(len(content)))
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing blob: %w", err)
	}
	return h, nil
}

// writeCommit writes a commit of tree on parent.
func writeCommit(st storer.EncodedObjectStorer, tree, parent plumbing.Hash, msg string, sig object.Signature) (plumbing.Hash, error) {
	c := &object.Commit{
		Author:       sig,
		Committer:    sig,
		Message:      msg,
		TreeHash:     tree,
		ParentHashes: []plumbing.Hash{parent},
	}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding commit: %w", err)
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing commit: %w", err)
	}
	return h, nil
}

// fileContent reads path from tree; ok is false when it is not there.
func fileContent(t *object.Tree, p string) ([]byte, bool, error) {
	f, err := t.File(p)
	if err == object.ErrFileNotFound || err == object.ErrDirectoryNotFound || err == object.ErrEntryNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	s, err := f.Contents()
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", p, err)
	}
	return []byte(s), true, nil
}

// unifiedDiff is the patch from one tree to another, with the files it
// touches.
func unifiedDiff(ctx context.Context, from, to *object.Tree) (string, []FileChange, error) {
	patch, err := from.PatchContext(ctx, to)
	if err != nil {
		return "", nil, fmt.Errorf("diffing trees: %w", err)
	}
	var files []FileChange
	for _, fp := range patch.FilePatches() {
		a, b := fp.Files()
		switch {
		case a == nil && b != nil:
			files = append(files, FileChange{Path: b.Path(), Action: FileAdded})
		case a != nil && b == nil:
			files = append(files, FileChange{Path: a.Path(), Action: FileDeleted})
		case a != nil:
			files = append(files, FileChange{Path: b.Path(), Action: FileModified})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return patch.String(), files, nil
}

// repoPath joins the dbt project folder and a project-relative path.
func repoPath(projectDir, p string) string {
	return path.Clean(path.Join(projectDir, strings.TrimPrefix(p, "./")))
}

// signature is the author of sluice's commits.
func signature(cfg *Config, at time.Time) object.Signature {
	name, email := cfg.AuthorName, cfg.AuthorEmail
	if name == "" {
		name = "Sluice"
	}
	if email == "" {
		email = "sluice@localhost"
	}
	return object.Signature{Name: name, Email: email, When: at}
}
