package review

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/sluice-dev/sluice/engine/api"
)

// UndoReject puts back an item a person rejected, as long as nothing newer
// stands for its proposal: a rejection withdrawn by a run, or one a later
// item of the same kind superseded, is not undone. A branch item whose
// local branch the rejection deleted is re-staged from its stored
// candidates on the base branch as it is now (checked again), or, without
// candidates, its commit is put back on the branch.
func (s *Service) UndoReject(ctx context.Context, id int64) (*Item, error) {
	it, err := s.undoReject(ctx, id)
	if err != nil {
		return it, fmt.Errorf("undoing the rejection of review %d: %w", id, err)
	}
	return it, nil
}

func (s *Service) undoReject(ctx context.Context, id int64) (*Item, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer s.afterAction(ctx)
	it, err := s.store.Review(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.State != api.ReviewRejected {
		return nil, fmt.Errorf("it is %s, not rejected: %w", it.State, ErrState)
	}
	if it.Withdrawn {
		return nil, fmt.Errorf("a metapipeline run withdrew it, no person rejected it: %w", ErrState)
	}
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing review items: %w", err)
	}
	for _, o := range items {
		if o.ID == it.ID || o.Kind != it.Kind || o.Follows != it.Follows {
			continue
		}
		if o.ID > it.ID || o.State == api.ReviewStaged || o.State == api.ReviewBlocked {
			return nil, fmt.Errorf("review %d (%s) superseded it: %w", o.ID, o.State, ErrState)
		}
	}
	it.RejectReason = ""
	const note = "rejection undone"
	restored := api.ReviewStaged
	if len(it.Blocked) > 0 {
		restored = api.ReviewBlocked
	}
	if !it.Kind.IsBranch() || it.Branch == "" {
		return it, s.update(ctx, it, restored, note)
	}
	sc, err := s.itemScratch(it)
	if err != nil {
		return nil, err
	}
	if sc.hasBranch(it.Branch, it.Commit) {
		// The rejection could not delete the branch: it is as it was.
		return it, s.update(ctx, it, restored, note)
	}
	if it.Kind.HasModels() && len(it.Candidates) > 0 {
		base, baseBranch, err := sc.base(ctx)
		if err != nil {
			return nil, err
		}
		err = s.stageItem(ctx, sc, it, true, base, baseBranch, note+": restaged from its candidates", func(baseTree *object.Tree) (*builtEdits, error) {
			return s.deprecationBuild(sc.projectDir, baseTree, it.Mode, it.Candidates, it)
		})
		if err != nil {
			return nil, err
		}
		if it.State == api.ReviewRejected {
			return it, fmt.Errorf("its models are already gone from the base branch %s; it was withdrawn: %w", baseBranch, ErrState)
		}
		return it, nil
	}
	// The commit may still be in the clone's objects; else the item's
	// recipe rebuilds it, the same hash or nothing.
	if commit := plumbing.NewHash(it.Commit); sc.repo.Storer.HasEncodedObject(commit) == nil {
		if err := sc.setBranch(it.Branch, commit); err != nil {
			return nil, err
		}
	} else if err := s.ensureBranch(ctx, sc, it); err != nil {
		return nil, fmt.Errorf("restoring its branch, with no candidates to restage it from: %w: %w", err, ErrState)
	}
	return it, s.update(ctx, it, restored, note+": branch "+it.Branch+" restored")
}
