package review

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Several instances share one store but each keeps its own scratch clone:
// an item staged on one box has no branch in another's. The item therefore
// carries how its commit was made — the edits, the message, the author and
// the time — and any box rebuilds the very same commit on the same base.
// Git names a commit by its content, so the same inputs give the same hash,
// and the hash proves the rebuilt branch is the one the reviewer saw.

// ErrRebuild is a branch that cannot be rebuilt here as it was staged.
var ErrRebuild = errors.New("the staged branch cannot be rebuilt on this box")

// Recipe is how an item's commit was made.
type Recipe struct {
	Edits   []RecipeEdit
	Message string
	Name    string // author and committer
	Email   string
	When    int64 // Unix seconds, git's resolution
	Offset  int   // the author's time zone, seconds east of UTC, as git records it
}

// RecipeEdit is one file the commit changes on its base.
type RecipeEdit struct {
	Path    string
	Content []byte `json:",omitempty"`
	Delete  bool   `json:",omitempty"`
}

// newRecipe records the edits (sorted, so equal items store equal JSON) and
// the commit's message and signature.
func newRecipe(ed edits, msg string, sig object.Signature) *Recipe {
	r := &Recipe{Message: msg, Name: sig.Name, Email: sig.Email, When: sig.When.Unix()}
	_, r.Offset = sig.When.Zone()
	for p, content := range ed {
		r.Edits = append(r.Edits, RecipeEdit{Path: p, Content: content, Delete: content == nil})
	}
	sort.Slice(r.Edits, func(i, j int) bool { return r.Edits[i].Path < r.Edits[j].Path })
	return r
}

func (r *Recipe) edits() edits {
	ed := make(edits, len(r.Edits))
	for _, e := range r.Edits {
		switch {
		case e.Delete:
			ed[e.Path] = nil
		case e.Content == nil:
			ed[e.Path] = []byte{} // an empty file, not a deletion
		default:
			ed[e.Path] = e.Content
		}
	}
	return ed
}

func (r *Recipe) signature() object.Signature {
	return object.Signature{Name: r.Name, Email: r.Email, When: time.Unix(r.When, 0).In(time.FixedZone("", r.Offset))}
}

// ensureBranch makes sure the scratch clone holds the item's branch at its
// staged commit, rebuilding it from the item's recipe when this box never
// staged it. A rebuilt commit whose hash differs from the staged one is
// refused: it is not what the reviewer saw.
func (s *Service) ensureBranch(ctx context.Context, sc *scratch, it *Item) error {
	if sc.hasBranch(it.Branch, it.Commit) {
		return nil
	}
	if it.Rebuild == nil || it.Base == "" || it.Commit == "" {
		return fmt.Errorf("%w: branch %s is missing from this box's scratch clone and the item records no way to rebuild it (staged by an older version); run the metapipeline again to restage it",
			ErrRebuild, it.Branch)
	}
	base := plumbing.NewHash(it.Base)
	baseCommit, err := object.GetCommit(sc.repo.Storer, base)
	if err != nil {
		// Never fetched here: the base branch brings it, as long as the
		// base commit is still in the branch's history.
		if _, _, ferr := sc.base(ctx); ferr != nil {
			return fmt.Errorf("rebuilding branch %s: %w", it.Branch, ferr)
		}
		if baseCommit, err = object.GetCommit(sc.repo.Storer, base); err != nil {
			return fmt.Errorf("%w: branch %s was staged on base commit %s, which the base branch %s no longer contains; run the metapipeline again to restage it",
				ErrRebuild, it.Branch, short(it.Base), it.BaseBranch)
		}
	}
	baseTree, err := baseCommit.Tree()
	if err != nil {
		return fmt.Errorf("reading the tree of base commit %s: %w", short(it.Base), err)
	}
	tree, err := buildTree(sc.repo.Storer, baseTree, it.Rebuild.edits())
	if err != nil {
		return fmt.Errorf("rebuilding branch %s: %w", it.Branch, err)
	}
	commit, err := writeCommit(sc.repo.Storer, tree, base, it.Rebuild.Message, it.Rebuild.signature())
	if err != nil {
		return fmt.Errorf("rebuilding branch %s: %w", it.Branch, err)
	}
	if commit.String() != it.Commit {
		return fmt.Errorf("%w: rebuilding branch %s gave commit %s, not the staged %s; nothing pushed that the reviewer did not see — run the metapipeline again to restage it",
			ErrRebuild, it.Branch, short(commit.String()), short(it.Commit))
	}
	if err := sc.setBranch(it.Branch, commit); err != nil {
		return err
	}
	s.log.Info("review branch rebuilt from the store", "id", it.ID, "branch", it.Branch, "commit", short(it.Commit))
	return nil
}

// branchHere is ensureBranch for staging: a branch this box cannot rebuild
// is simply staged anew, so the failure is only logged.
func (s *Service) branchHere(ctx context.Context, sc *scratch, it *Item) bool {
	err := s.ensureBranch(ctx, sc, it)
	if err != nil {
		s.log.Info("restaging: the staged branch is not on this box", "id", it.ID, "branch", it.Branch, "err", err)
	}
	return err == nil
}
