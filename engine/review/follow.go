package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v66/github"

	"github.com/sluice-dev/sluice/engine/api"
)

// Checks states of a pull request's head commit.
const (
	ChecksSuccess = "success"
	ChecksFailure = "failure"
	ChecksPending = "pending"
)

// PRStatus is where a pull request stands on GitHub.
type PRStatus struct {
	Open, Merged bool
	At           time.Time // merged_at or closed_at
	Checks       string    // ChecksSuccess, ChecksFailure, ChecksPending, or "" (none)
}

// status reads a pull request and the check runs of its head commit.
func (c *githubClient) status(ctx context.Context, owner, repo string, number int) (PRStatus, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return PRStatus{}, fmt.Errorf("reading pull request %s/%s#%d: %w", owner, repo, number, err)
	}
	st := PRStatus{Open: pr.GetState() == "open", Merged: pr.GetMerged() || pr.MergedAt != nil}
	switch {
	case pr.MergedAt != nil:
		st.At = pr.MergedAt.Time
	case pr.ClosedAt != nil:
		st.At = pr.ClosedAt.Time
	}
	sha := pr.GetHead().GetSHA()
	if sha == "" {
		return st, nil
	}
	runs, _, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &github.ListCheckRunsOptions{ListOptions: github.ListOptions{PerPage: 100}})
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return st, nil // no checks configured, or none visible to the token
	}
	if err != nil {
		return st, fmt.Errorf("reading the checks of %s/%s#%d: %w", owner, repo, number, err)
	}
	st.Checks = summariseChecks(runs.CheckRuns)
	return st, nil
}

// summariseChecks folds check runs the way GitHub's merge box does: any
// failing conclusion fails, anything not completed is pending.
func summariseChecks(runs []*github.CheckRun) string {
	if len(runs) == 0 {
		return ""
	}
	out := ChecksSuccess
	for _, r := range runs {
		if r.GetStatus() != "completed" {
			out = ChecksPending
			continue
		}
		switch r.GetConclusion() {
		case "failure", "timed_out", "cancelled", "action_required", "startup_failure":
			return ChecksFailure
		}
	}
	return out
}

// FollowPullRequests reads the pull request of every item that has one
// open and records what became of it: merged, or closed unmerged — a
// reviewer declined, which frees its models until the reconsider period
// ends — and the state of its checks. The metapipeline calls it on every
// run; a failure on one item does not stop the others.
func (s *Service) FollowPullRequests(ctx context.Context) ([]*Item, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer s.afterAction(ctx)
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing review items: %w", err)
	}
	var changed []*Item
	var errs []error
	for _, it := range items {
		if it.State != api.ReviewPROpen || it.PRNumber == 0 {
			continue
		}
		owner, repo, ok := s.githubRepo(it, it.Remote)
		if !ok {
			continue
		}
		gh, err := s.github(it)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st, err := gh.status(ctx, owner, repo, it.PRNumber)
		if err != nil {
			errs = append(errs, fmt.Errorf("following review %d: %w", it.ID, err))
			continue
		}
		next, note := it.State, ""
		switch {
		case st.Merged:
			next, note = api.ReviewMerged, fmt.Sprintf("pull request #%d merged", it.PRNumber)
		case !st.Open:
			next, note = api.ReviewDeclined, fmt.Sprintf("%s: pull request #%d closed unmerged", ReasonDeclined, it.PRNumber)
		case st.Checks != it.Checks:
			note = fmt.Sprintf("pull request #%d checks: %s", it.PRNumber, orDefault(st.Checks, "none"))
		default:
			continue
		}
		it.Checks = st.Checks
		if err := s.update(ctx, it, next, note); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = append(changed, it)
	}
	return changed, errors.Join(errs...)
}

// ReasonDeclined is why a candidate of a pull request closed unmerged is
// not proposed again for a while.
const ReasonDeclined = "a reviewer declined"

// declined returns, by model unique id, the newest declined item that still
// holds it back: declined less than the reconsider period ago.
func (s *Service) declined(items []*Item) map[string]*Item {
	out := map[string]*Item{}
	cutoff := s.cfg.now().Add(-s.cfg.reconsider())
	for _, it := range items {
		if it.Kind != KindDeprecate || it.State != api.ReviewDeclined || !it.UpdatedAt.After(cutoff) {
			continue
		}
		for _, sub := range it.Subjects {
			if prev := out[sub.ID]; prev == nil || it.UpdatedAt.After(prev.UpdatedAt) {
				out[sub.ID] = it
			}
		}
	}
	return out
}

// withoutDeclined drops the candidates a reviewer declined recently, with a
// note for each.
func (s *Service) withoutDeclined(ctx context.Context, cands []Candidate) ([]Candidate, []string, error) {
	items, err := s.store.Reviews(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing review items: %w", err)
	}
	held := s.declined(items)
	if len(held) == 0 {
		return cands, nil, nil
	}
	var keep []Candidate
	var notes []string
	for _, c := range cands {
		if it := held[c.UniqueID]; it != nil {
			notes = append(notes, fmt.Sprintf("%s not proposed: %s (review %d, pull request #%d, %s); reconsidered after %s",
				c.Name, ReasonDeclined, it.ID, it.PRNumber, it.UpdatedAt.Format("2006-01-02"), it.UpdatedAt.Add(s.cfg.reconsider()).Format("2006-01-02")))
			continue
		}
		keep = append(keep, c)
	}
	if keep == nil {
		keep = []Candidate{}
	}
	return keep, notes, nil
}
