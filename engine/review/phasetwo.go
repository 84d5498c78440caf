package review

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/sluice-dev/sluice/engine/api"
)

// The second phase of a reversible clean-up: once the first phase settled
// (the deprecation's pull request merged, the reports archived) and the
// quiet period passed with no new consumer, the deletion is proposed as a
// new item that follows the first.

// settledAt is when an item in state reached it, from its history: the
// first of the events that left it there (notes recorded on it later do not
// restart the quiet period).
func settledAt(it *Item, state State) (time.Time, bool) {
	var at time.Time
	ok := false
	for i := len(it.History) - 1; i >= 0 && it.History[i].State == state; i-- {
		at, ok = it.History[i].At, true
	}
	return at, ok
}

// StageFollowUps stages the second phase of every first phase whose quiet
// period is over: a branch deleting the models a merged deprecation
// disabled, and an item deleting the reports an archive item archived.
// consumers names, by model name, unique id or report token, what the
// latest analysis found consuming it: such a subject has a new consumer and
// is not deleted (the first item's history says so). models and reports
// say which parts the analysis covered; the other is left alone.
func (s *Service) StageFollowUps(ctx context.Context, consumers map[string][]string, models, reports bool) ([]*Item, error) {
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing review items: %w", err)
	}
	followed := map[int64]bool{} // first phases a second settles already
	declinedBefore := s.cfg.now().Add(-s.cfg.reconsider())
	for _, it := range items {
		// A second phase whose pull request a reviewer declined holds
		// its first back for the reconsider period only, as a declined
		// deprecation holds its models.
		expired := it.State == api.ReviewDeclined && !it.UpdatedAt.After(declinedBefore)
		if it.Follows != 0 && it.State != api.ReviewStaged && it.State != api.ReviewBlocked && !it.Withdrawn && !expired {
			followed[it.ID] = true
			followed[it.Follows] = true
		}
	}
	cutoff := s.cfg.now().Add(-s.cfg.quiet())
	var out []*Item
	var errs []error
	for _, first := range items {
		var state State
		switch {
		case models && first.Kind == KindDeprecate && reversible(first.Mode):
			state = api.ReviewMerged
		case reports && first.Kind == KindArchive:
			state = api.ReviewArchived
		default:
			continue
		}
		if first.State != state || followed[first.ID] {
			continue
		}
		at, ok := settledAt(first, state)
		if !ok || at.After(cutoff) {
			continue // still in its quiet period
		}
		var it *Item
		if first.Kind == KindArchive {
			it, err = s.stageReportDeletion(ctx, first, consumers)
		} else {
			it, err = s.stageModelDeletion(ctx, first, consumers)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("second phase of review %d: %w", first.ID, err))
		}
		if it != nil {
			out = append(out, it)
		}
	}
	return out, errors.Join(errs...)
}

// stillUnused splits a first phase's subjects into those with no new
// consumer and notes on the others.
func stillUnused(ids []Subject, consumers map[string][]string) (unused map[string]bool, notes []string) {
	unused = map[string]bool{}
	for _, sub := range ids {
		by := append(append([]string(nil), consumers[sub.ID]...), consumers[sub.Name]...)
		if len(by) > 0 {
			sort.Strings(by)
			notes = append(notes, fmt.Sprintf("%s has a new consumer since: %s", sub.Name, strings.Join(by, ", ")))
			continue
		}
		unused[sub.ID] = true
	}
	return unused, notes
}

// noteFirst records on the first phase, once, why (part of) its second
// phase is not proposed.
func (s *Service) noteFirst(ctx context.Context, first *Item, notes []string) error {
	var fresh []string
	for _, n := range notes {
		n = "second phase: " + n
		if len(appendOnce(first.Notes, n)) != len(first.Notes) {
			first.Notes = append(first.Notes, n)
			fresh = append(fresh, n)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	defer s.afterAction(ctx)
	return s.update(ctx, first, first.State, strings.Join(fresh, "; "))
}

// stageModelDeletion stages the branch deleting the models first disabled
// (those it put in its branch), as they are on the base branch now.
func (s *Service) stageModelDeletion(ctx context.Context, first *Item, consumers map[string][]string) (*Item, error) {
	unused, notes := stillUnused(first.Subjects, consumers)
	if err := s.noteFirst(ctx, first, notes); err != nil {
		return nil, err
	}
	var cands []Candidate
	var ids []string
	for _, c := range first.Candidates {
		// Source tables went in the first phase already: their entries
		// hold no data a quiet period protects.
		if !unused[c.UniqueID] || c.IsSource() {
			continue
		}
		if first.Mode == DeprecateFolder {
			files := make([]string, len(c.Files))
			for i, f := range c.Files {
				files[i] = deprecatedPath(f)
			}
			c.Files = files
		}
		c.Reason = fmt.Sprintf("disabled by review %d (pull request #%d), no new consumer for %d days; %s", first.ID, first.PRNumber, int(s.cfg.quiet().Hours()/24), c.Reason)
		cands = append(cands, c)
		ids = append(ids, c.UniqueID)
	}
	return s.stageBranch(ctx, branchSpec{kind: KindDelete, mode: DeprecateDelete, follows: first.ID,
		fp: fingerprint(KindDelete, append([]string{strconv.FormatInt(first.ID, 10)}, ids...)...), empty: len(cands) == 0,
		build: func(sc *scratch, baseTree *object.Tree, staged *Item) (*builtEdits, error) {
			return s.deprecationBuild(sc.projectDir, baseTree, DeprecateDelete, cands, staged)
		}})
}

// stageReportDeletion stages the deletion of the reports first archived.
func (s *Service) stageReportDeletion(ctx context.Context, first *Item, consumers map[string][]string) (*Item, error) {
	var archived []Subject
	for _, sub := range first.Subjects {
		if sub.Result == ResultArchived {
			archived = append(archived, sub)
		}
	}
	unused, notes := stillUnused(archived, consumers)
	if err := s.noteFirst(ctx, first, notes); err != nil {
		return nil, err
	}
	var subjects []Subject
	var tokens []string
	for _, sub := range archived {
		if unused[sub.ID] {
			subjects = append(subjects, Subject{ID: sub.ID, Name: sub.Name,
				Reason: fmt.Sprintf("archived by review %d, no new consumer for %d days; %s", first.ID, int(s.cfg.quiet().Hours()/24), sub.Reason)})
			tokens = append(tokens, sub.ID)
		}
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer s.afterAction(ctx)
	fp := fingerprint(KindDeleteReports, append([]string{strconv.FormatInt(first.ID, 10)}, tokens...)...)
	staged, settled, err := s.existing(ctx, KindDeleteReports, first.ID, fp)
	if err != nil {
		return nil, err
	}
	if len(subjects) == 0 || settled != nil {
		return settled, s.withdraw(ctx, staged, settled)
	}
	if staged != nil && staged.Fingerprint == fp {
		return staged, nil
	}
	it := staged
	if it == nil {
		it = &Item{Kind: KindDeleteReports, Follows: first.ID}
	}
	it.Title = fmt.Sprintf("Delete %d archived %s", len(subjects), plural(len(subjects), "report", "reports"))
	it.Subjects, it.Fingerprint, it.Error = subjects, fp, ""
	return it, s.save(ctx, it, staged != nil)
}
