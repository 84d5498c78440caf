package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/sluice-dev/sluice/engine/api"
)

// Outcome is what approving did — or, for a dry run, would do.
type Outcome struct {
	Item   *Item // the item after the action (unchanged for a dry run)
	DryRun bool
	// Branch items.
	Push *PushPlan
	PR   *PullRequest // nil when no GitHub repository is configured
	// Opened is the pull request GitHub answered with.
	Opened *OpenedPR
	// Archive items: one result per report acted on (or to act on).
	Reports []ReportResult
}

// PushPlan is the push an approval makes.
type PushPlan struct {
	Remote  string // URL, credentials redacted
	RefSpec string // never forced: no leading +
	Commit  string
	// Warning is what a dry run found on the remote that would make the
	// push fail or do nothing (the branch exists elsewhere, the remote is
	// unreachable); empty when the push looks fine.
	Warning string
	// Pushed is set once the remote accepted the push; a refused push
	// leaves it false (the error says what the remote said).
	Pushed bool
}

// ReportResult is the outcome of archiving one report.
type ReportResult struct {
	Token, Name string
	Archived    bool
	Err         string
}

// approvable says whether an item may be approved: staged, a failed
// approval to retry, or an approval a crashed process left half done (see
// approvalInFlight for one another instance may still be carrying out).
func approvable(st State) bool {
	return st == api.ReviewStaged || st == api.ReviewFailed || st == api.ReviewApproved
}

// Approve carries out an item: pushes its branch and opens the pull
// request, or archives its reports. With dryRun it only says what it would
// push and post. A rejected push leaves the item staged with the error.
// Every error names the item once, here; the steps below say only what failed.
func (s *Service) Approve(ctx context.Context, id int64, dryRun bool) (*Outcome, error) {
	out, err := s.approve(ctx, id, dryRun)
	if err != nil {
		return out, fmt.Errorf("approving review %d: %w", id, err)
	}
	return out, nil
}

func (s *Service) approve(ctx context.Context, id int64, dryRun bool) (*Outcome, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !dryRun {
		defer s.afterAction(ctx)
	}
	it, err := s.store.Review(ctx, id)
	if err != nil {
		return nil, err
	}
	if it.State == api.ReviewBlocked {
		return nil, fmt.Errorf("%w: %s", ErrBlocked, it.Error)
	}
	if !approvable(it.State) || (!dryRun && s.approvalInFlight(it)) {
		return nil, fmt.Errorf("it is %s%s: %w", it.State, claimText(it), ErrState)
	}
	var out *Outcome
	if it.Kind == KindArchive || it.Kind == KindDeleteReports {
		out, err = s.approveArchive(ctx, it, dryRun)
	} else {
		out, err = s.approveBranch(ctx, it, dryRun)
	}
	return out, s.lostRace(ctx, id, err)
}

func (s *Service) approveBranch(ctx context.Context, it *Item, dryRun bool) (*Outcome, error) {
	sc, err := s.itemScratch(it)
	if err != nil {
		return nil, err
	}
	if sc.pushURL == "" {
		return nil, ErrNoRemote
	}
	// Staged on another box (or the scratch clone was cleared): the item
	// says how to rebuild the very commit the reviewer saw.
	if err := s.ensureBranch(ctx, sc, it); err != nil {
		return nil, err
	}
	// Proof again before anything leaves: the check is sluice's own, on
	// the branch's changes replayed on the base branch as it is now.
	rc, err := sc.recheck(ctx, it)
	if err != nil {
		return nil, err
	}
	if len(rc.dangling) > 0 {
		it.Blocked = danglingText(rc.dangling)
		it.Error = blockedMessage(it.Blocked)
		if rc.base != it.Base {
			it.Error = fmt.Sprintf("%s (the base branch moved from %s to %s since staging)", it.Error, short(it.Base), short(rc.base))
		}
		if !dryRun {
			if err := s.update(ctx, it, api.ReviewBlocked, it.Error); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("%w: %s", ErrBlocked, it.Error)
	}
	// dbt's own opinion on the same tree, recorded like the staging's; a
	// failure the branch brings refuses the push with dbt's message.
	if note, refuse := s.pushParse(ctx, sc, rc, it.BaseBranch); note != "" {
		it.Notes = append(withoutPrefix(it.Notes, "dbt parse before the push"), note)
		if refuse != "" {
			it.Error = refuse
			if !dryRun {
				if err := s.update(ctx, it, it.State, "push refused: "+refuse); err != nil {
					return nil, err
				}
			}
			return nil, fmt.Errorf("%w: %s", ErrDBTParse, refuse)
		}
	}
	out := &Outcome{Item: it, DryRun: dryRun, Push: &PushPlan{
		Remote:  redactURL(sc.pushURL),
		RefSpec: "refs/heads/" + it.Branch + ":refs/heads/" + it.Branch,
		Commit:  it.Commit,
	}}
	if owner, repo, ok := s.githubRepo(it, sc.pushURL); ok {
		out.PR = &PullRequest{Owner: owner, Repo: repo, Title: it.Title, Head: it.Branch, Base: it.BaseBranch, Body: prBody(it, s.cfg.ApprovedFrom), Draft: s.cfg.Draft}
	}
	if dryRun {
		out.Push.Warning = sc.checkPush(ctx, it.Branch, it.Commit)
		if out.PR != nil {
			gh, err := s.github(it)
			if err != nil {
				return nil, err
			}
			out.PR.Warning = gh.check(ctx, *out.PR)
			if s.cfg.Token == "" && out.PR.Warning == "" {
				out.PR.Warning = "the pull request would not open: no GitHub token (GITHUB_TOKEN)"
			}
		}
		return out, nil
	}

	// Taking the approval is one versioned update, also when re-taking an
	// abandoned one: of two consoles or instances approving at once, one
	// wins here and the other pushes nothing.
	prev := it.State
	s.claimApproval(it)
	if err := s.update(ctx, it, api.ReviewApproved, "approved"); err != nil {
		return nil, err
	}
	if err := sc.push(ctx, it.Branch); err != nil {
		// Nothing reached the remote: the item waits as it was.
		back := prev
		if back == api.ReviewApproved {
			back = api.ReviewStaged
		}
		it.Error = err.Error()
		if uerr := s.update(ctx, it, back, "push failed: "+err.Error()); uerr != nil {
			s.log.Error("saving a failed push", "id", it.ID, "err", uerr)
		}
		return out, err
	}
	out.Push.Pushed = true
	it.Error = ""
	pushed := "pushed " + it.Branch + " to " + redactURL(sc.pushURL)
	if out.PR == nil {
		it.Notes = appendOnce(it.Notes, "no GitHub repository configured: open the pull request by hand")
		it.Rebuild = nil // the branch is on the remote for good: the store need not carry its files
		return out, s.update(ctx, it, api.ReviewPushed, pushed+"; no GitHub repository configured, no pull request opened")
	}
	// The item stays approved until its pull request is open: a crash
	// between the push and the request leaves an approval that approving
	// again finishes (the push is a no-op, an open PR is found).
	if err := s.update(ctx, it, api.ReviewApproved, pushed); err != nil {
		return out, err
	}
	gh, err := s.github(it)
	if err == nil {
		var opened OpenedPR
		opened, err = gh.open(ctx, *out.PR)
		out.Opened = &opened
	}
	if err != nil {
		out.Opened = nil
		err = fmt.Errorf("opening the pull request: %w", err)
		it.Error = err.Error()
		if uerr := s.update(ctx, it, api.ReviewFailed, err.Error()); uerr != nil {
			s.log.Error("saving a failed pull request", "id", it.ID, "err", uerr)
		}
		return out, err
	}
	opened := *out.Opened
	it.URL, it.PRNumber = opened.URL, opened.Number
	it.Rebuild = nil
	note := fmt.Sprintf("pull request #%d opened: %s", opened.Number, opened.URL)
	if opened.Existed {
		note = fmt.Sprintf("pull request #%d was already open: %s", opened.Number, opened.URL)
	}
	return out, s.update(ctx, it, api.ReviewPROpen, note)
}

// githubRepo is the repository an item's pull request goes to: the
// configured one, the one recorded at staging, or the push URL's.
func (s *Service) githubRepo(it *Item, pushURL string) (owner, repo string, ok bool) {
	for _, r := range []string{s.cfg.GitHubRepo, it.GitHubRepo} {
		if r != "" {
			owner, repo, ok = strings.Cut(r, "/")
			return owner, repo, ok && owner != "" && repo != ""
		}
	}
	return githubRepoFromURL(pushURL, s.cfg.GitHubAPIURL != "")
}

// reportAction is what approving a reports item does to each report.
type reportAction struct {
	do         func(ctx context.Context, token string) error
	result     string // the subject's Result once done
	state      State  // the item's state once every report is done
	verb, noun string // "archived", "archive"
}

func (s *Service) reportAction(it *Item) (reportAction, error) {
	if it.Kind == KindDeleteReports {
		d, ok := s.cfg.Archiver.(ReportDeleter)
		if !ok {
			return reportAction{}, ErrNoDeleter
		}
		return reportAction{do: d.DeleteReport, result: ResultDeleted, state: api.ReviewDeleted, verb: "deleted", noun: "delete"}, nil
	}
	if s.cfg.Archiver == nil {
		return reportAction{}, ErrNoArchiver
	}
	return reportAction{do: s.cfg.Archiver.ArchiveReport, result: ResultArchived, state: api.ReviewArchived, verb: "archived", noun: "archive"}, nil
}

func (s *Service) approveArchive(ctx context.Context, it *Item, dryRun bool) (*Outcome, error) {
	out := &Outcome{Item: it, DryRun: dryRun}
	done := ResultArchived
	if it.Kind == KindDeleteReports {
		done = ResultDeleted
	}
	for _, sub := range it.Subjects {
		if sub.Result != done {
			out.Reports = append(out.Reports, ReportResult{Token: sub.ID, Name: sub.Name})
		}
	}
	if dryRun {
		return out, nil
	}
	act, err := s.reportAction(it)
	if err != nil {
		return out, err
	}
	s.claimApproval(it)
	if err := s.update(ctx, it, api.ReviewApproved, "approved"); err != nil {
		return nil, err
	}
	// Reports archived by an earlier attempt are not archived again: a
	// retry only redoes what failed.
	var failed []string
	n := 0
	for i := range it.Subjects {
		sub := &it.Subjects[i]
		if sub.Result == act.result {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res := ReportResult{Token: sub.ID, Name: sub.Name}
		if err := act.do(ctx, sub.ID); err != nil {
			sub.Result, res.Err = err.Error(), err.Error()
			failed = append(failed, fmt.Sprintf("%s (%s): %v", sub.Name, sub.ID, err))
		} else {
			sub.Result, res.Archived = act.result, true
			n++
		}
		for j := range out.Reports {
			if out.Reports[j].Token == res.Token {
				out.Reports[j] = res
			}
		}
	}
	if len(failed) == 0 {
		it.Error = ""
		return out, s.update(ctx, it, act.state, fmt.Sprintf("%s %d %s", act.verb, n, plural(n, "report", "reports")))
	}
	it.Error = fmt.Sprintf("%d of %d reports not %s: %s", len(failed), len(it.Subjects), act.verb, strings.Join(failed, "; "))
	if err := s.update(ctx, it, api.ReviewFailed, it.Error); err != nil {
		return out, err
	}
	return out, errors.New(it.Error)
}

// Reject declines an item: its local branch goes, the item is marked.
// A branch already pushed by a failed approval stays on the remote.
func (s *Service) Reject(ctx context.Context, id int64, reason string) (*Item, error) {
	it, err := s.reject(ctx, id, reason)
	if err != nil {
		return it, fmt.Errorf("rejecting review %d: %w", id, err)
	}
	return it, nil
}

func (s *Service) reject(ctx context.Context, id int64, reason string) (*Item, error) {
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
	if (!approvable(it.State) && it.State != api.ReviewBlocked) || s.approvalInFlight(it) {
		return nil, fmt.Errorf("it is %s%s: %w", it.State, claimText(it), ErrState)
	}
	it.RejectReason = oneLine(reason)
	note := "rejected"
	if it.RejectReason != "" {
		note = "rejected: " + it.RejectReason
	}
	if it.Kind.IsBranch() && it.Branch != "" {
		// The decision stands even when the scratch clone cannot be
		// opened (the checkout moved): a leftover local branch is harmless.
		sc, err := s.itemScratch(it)
		if err == nil {
			err = sc.deleteBranch(it.Branch)
		}
		if err != nil {
			s.log.Warn("rejecting: local branch not deleted", "branch", it.Branch, "err", err)
			note += "; local branch " + it.Branch + " not deleted: " + err.Error()
		} else {
			note += "; deleted local branch " + it.Branch
		}
		if pushedBefore(it) {
			note += " (the pushed branch stays on the remote)"
		}
	}
	return it, s.lostRace(ctx, id, s.update(ctx, it, api.ReviewRejected, note))
}

// oneLine keeps a reason to one trimmed line: a history note is one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func pushedBefore(it *Item) bool {
	for _, ev := range it.History {
		if ev.State == api.ReviewPushed {
			return true
		}
	}
	return false
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// push sends the branch to the push remote without force. A remote branch
// that is not an ancestor of ours is refused with ErrNonFastForward; any
// refusal carries what the remote itself said (a hook's "remote:" lines).
func (sc *scratch) push(ctx context.Context, branch string) error {
	ref := plumbing.NewBranchReferenceName(branch)
	var said remoteMessages
	err := sc.challenged(sc.pushURL, func(auth transport.AuthMethod) error {
		said.Reset()
		return sc.repo.PushContext(ctx, &git.PushOptions{
			RemoteName: remoteOrigin,
			RefSpecs:   []config.RefSpec{config.RefSpec(ref.String() + ":" + ref.String())},
			Auth:       auth,
			Force:      false,
			Progress:   &said,
		})
	})
	remoteSaid := ""
	if m := said.String(); m != "" {
		remoteSaid = "; the remote said: " + m
	}
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case errors.Is(err, git.ErrForceNeeded), isNonFastForward(err):
		return fmt.Errorf("pushing %s to %s: %w (%v)%s", branch, redactURL(sc.pushURL), ErrNonFastForward, err, remoteSaid)
	default:
		return fmt.Errorf("pushing %s to %s: %w%s", branch, redactURL(sc.pushURL), err, remoteSaid)
	}
}

// remoteMessages keeps what a git server sends on its progress channel
// during a push, without the progress meters: the hooks' own words.
type remoteMessages struct{ bytes.Buffer }

// maxRemoteMessage bounds what is kept of a chatty remote.
const maxRemoteMessage = 4 << 10

func (m *remoteMessages) Write(p []byte) (int, error) {
	if room := maxRemoteMessage - m.Len(); room > 0 {
		m.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// String returns the remote's lines, progress counters dropped, joined
// with "; ".
func (m *remoteMessages) String() string {
	var lines []string
	for _, l := range strings.FieldsFunc(m.Buffer.String(), func(r rune) bool { return r == '\n' || r == '\r' }) {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "remote:"))
		if l == "" || isProgressLine(l) {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "; ")
}

func isProgressLine(l string) bool {
	for _, p := range []string{"Counting objects", "Compressing objects", "Writing objects", "Resolving deltas", "Total ", "Enumerating objects"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// checkPush looks at the remote's branches, as a dry run, and says what
// would stop the push.
func (sc *scratch) checkPush(ctx context.Context, branch, commit string) string {
	remote, err := sc.repo.Remote(remoteOrigin)
	if err != nil {
		return "no remote: " + err.Error()
	}
	var refs []*plumbing.Reference
	err = sc.challenged(sc.pushURL, func(auth transport.AuthMethod) error {
		refs, err = remote.ListContext(ctx, &git.ListOptions{Auth: auth})
		return err
	})
	if err != nil {
		return "cannot reach the remote: " + err.Error()
	}
	for _, r := range refs {
		if r.Name() != plumbing.NewBranchReferenceName(branch) {
			continue
		}
		if r.Hash().String() == commit {
			return "the remote already has this branch at this commit; the push would do nothing"
		}
		head, err := sc.repo.CommitObject(plumbing.NewHash(commit))
		if err == nil {
			if old, err := sc.repo.CommitObject(r.Hash()); err == nil {
				if ok, err := old.IsAncestor(head); err == nil && ok {
					return ""
				}
			}
		}
		return fmt.Sprintf("the remote has %s at %s, which is not an ancestor: the push would be rejected (never forced)", branch, short(r.Hash().String()))
	}
	return ""
}

func isNonFastForward(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "fetch first") || strings.Contains(msg, "[rejected]")
}

// withoutPrefix is list without the entries starting with prefix (a note
// a later one of its kind replaces).
func withoutPrefix(list []string, prefix string) []string {
	var out []string
	for _, x := range list {
		if !strings.HasPrefix(x, prefix) {
			out = append(out, x)
		}
	}
	return out
}
