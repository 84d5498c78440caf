package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/sluice-dev/sluice/engine/api"
)

// A reviewer may take models out of a staged deprecation, one by one: only
// for this item, or for good — a keep rule, kept in the item that recorded
// it (the store keeps items, so the rule outlives the run and the process)
// and honoured by every later run.

// ErrKeepReason is returned when a model is kept for good without a reason.
var ErrKeepReason = fmt.Errorf("keeping a model for good needs a reason")

// keptModels returns, by model unique id, the keep rules reviewers set in
// any item.
func keptModels(items []*Item) map[string]Exclusion {
	out := map[string]Exclusion{}
	for _, it := range items {
		for _, x := range it.Excluded {
			if x.Keep {
				out[x.ID] = x
			}
		}
	}
	return out
}

// withoutKept drops the candidates a reviewer kept for good, with a note
// for each.
func (s *Service) withoutKept(ctx context.Context, cands []Candidate) ([]Candidate, []string, error) {
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing review items: %w", err)
	}
	kept := keptModels(items)
	if len(kept) == 0 {
		return cands, nil, nil
	}
	keep := []Candidate{}
	var notes []string
	for _, c := range cands {
		if x, ok := kept[c.UniqueID]; ok {
			notes = append(notes, fmt.Sprintf("%s not proposed: kept by a reviewer on %s: %s", c.Name, x.At.Format("2006-01-02"), x.Reason))
			continue
		}
		keep = append(keep, c)
	}
	return keep, notes, nil
}

// Exclude takes a model (its name or unique id) out of a staged deprecate
// or delete item — for good with x.Keep, recording x.Reason — or, with
// x.Undo, puts it back; the item is re-staged on its base branch with the
// models left in, so the diff, the files and the counts follow.
func (s *Service) Exclude(ctx context.Context, id int64, model string, x api.Exclusion) (*Item, error) {
	if x.Keep && !x.Undo && strings.TrimSpace(x.Reason) == "" {
		return nil, ErrKeepReason
	}
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
	if !it.Kind.HasModels() || (it.State != api.ReviewStaged && it.State != api.ReviewBlocked) {
		return nil, fmt.Errorf("review %d is a %s item, %s: only a staged deprecation's models can be taken out: %w", id, it.Kind, it.State, ErrState)
	}
	if len(it.Candidates) == 0 {
		return nil, fmt.Errorf("review %d was staged before models could be taken out; run the metapipeline again to restage it: %w", id, ErrState)
	}
	var cand *Candidate
	for i, c := range it.Candidates {
		if c.UniqueID == model || c.Name == model {
			cand = &it.Candidates[i]
		}
	}
	var note string
	if x.Undo {
		i := exclusionIndex(it.Excluded, model)
		if i < 0 {
			return nil, fmt.Errorf("review %d: %s was not taken out: %w", id, model, ErrNotFound)
		}
		note = fmt.Sprintf("%s put back into the branch", it.Excluded[i].Name)
		it.Excluded = append(it.Excluded[:i:i], it.Excluded[i+1:]...)
	} else {
		if cand == nil {
			return nil, fmt.Errorf("review %d proposes no model %q: %w", id, model, ErrNotFound)
		}
		if exclusionIndex(it.Excluded, cand.UniqueID) >= 0 {
			return it, nil // already out: a second console's keypress
		}
		if len(it.Excluded)+1 >= len(it.Candidates) {
			return nil, fmt.Errorf("review %d: %s is the last model left in the branch; reject the item instead: %w", id, cand.Name, ErrState)
		}
		ex := Exclusion{ID: cand.UniqueID, Name: cand.Name, Keep: x.Keep, Reason: strings.TrimSpace(x.Reason), At: s.cfg.now().UTC()}
		it.Excluded = append(it.Excluded, ex)
		note = fmt.Sprintf("%s taken out of the branch, only this time", cand.Name)
		if x.Keep {
			note = fmt.Sprintf("%s kept for good: %s", cand.Name, ex.Reason)
		}
	}
	sc, err := s.itemScratch(it)
	if err != nil {
		return nil, err
	}
	base, baseBranch, err := sc.base(ctx)
	if err != nil {
		return nil, err
	}
	err = s.stageItem(ctx, sc, it, true, base, baseBranch, note, func(baseTree *object.Tree) (*builtEdits, error) {
		return s.deprecationBuild(sc.projectDir, baseTree, it.Mode, it.Candidates, it)
	})
	if err != nil {
		return nil, fmt.Errorf("restaging review %d: %w", id, err)
	}
	return it, nil
}

func exclusionIndex(xs []Exclusion, model string) int {
	for i, x := range xs {
		if x.ID == model || x.Name == model {
			return i
		}
	}
	return -1
}
