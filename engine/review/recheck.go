package review

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// recheck is the proof before a push. The staged commit itself cannot have
// changed, but the base branch can: a model added upstream since staging
// may ref() one the branch deletes, and merging the pull request would
// then break the project. So the branch's changes are replayed on the
// base branch as it is now and that tree is checked against it.
type recheck struct {
	base     string       // the base commit now; equal to the item's when it did not move
	tree     *object.Tree // what was checked: the branch replayed on base
	dangling []Dangling
	// conflicts are files the branch changes that the base changed too
	// since staging: the check keeps the base's version of them.
	conflicts []string
}

func (sc *scratch) recheck(ctx context.Context, it *Item) (*recheck, error) {
	cur, _, err := sc.base(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching the base branch to re-check the branch: %w", err)
	}
	if cur.String() == it.Base {
		c, err := sc.repo.CommitObject(plumbing.NewHash(it.Commit))
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", short(it.Commit), err)
		}
		tree, err := c.Tree()
		if err != nil {
			return nil, fmt.Errorf("reading the tree of %s: %w", short(it.Commit), err)
		}
		d, err := sc.checkCommit(it.Base, it.Commit)
		return &recheck{base: it.Base, tree: tree, dangling: d}, err
	}
	trees := make([]*object.Tree, 3)
	for i, h := range []string{it.Base, it.Commit, cur.String()} {
		c, err := sc.repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", short(h), err)
		}
		if trees[i], err = c.Tree(); err != nil {
			return nil, fmt.Errorf("reading the tree of %s: %w", short(h), err)
		}
	}
	staged, branch, now := trees[0], trees[1], trees[2]
	changes, err := object.DiffTreeWithOptions(ctx, staged, branch, &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the branch's changes: %w", err)
	}
	out := &recheck{base: cur.String()}
	ed := edits{}
	for _, ch := range changes {
		p := ch.From.Name
		if p == "" {
			p = ch.To.Name
		}
		before, existed, err := fileContent(staged, p)
		if err != nil {
			return nil, err
		}
		upstream, onBase, err := fileContent(now, p)
		if err != nil {
			return nil, err
		}
		if onBase != existed || string(upstream) != string(before) {
			out.conflicts = append(out.conflicts, p)
			continue
		}
		if ch.To.Name == "" {
			if onBase {
				ed[p] = nil
			}
			continue
		}
		after, _, err := fileContent(branch, p)
		if err != nil {
			return nil, err
		}
		ed[p] = after
	}
	treeHash, err := buildTree(sc.repo.Storer, now, ed)
	if err != nil {
		return nil, err
	}
	merged, err := object.GetTree(sc.repo.Storer, treeHash)
	if err != nil {
		return nil, err
	}
	out.tree = merged
	out.dangling, err = checkTree(now, merged, sc.projectDir)
	return out, err
}
