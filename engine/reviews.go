package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/review"
)

// The review service always exists (built by buildReviews in Open): items
// staged by `sluice meta run` can be approved from the console even when
// this engine stages none itself.

// Approve implements API: it pushes the item's branch and opens its pull
// request, or archives its reports.
func (e *Engine) Approve(ctx context.Context, id int64) error {
	_, err := e.ApproveReview(ctx, id, false)
	return err
}

// ExcludeFromReview implements API: a model goes out of (or, with Undo,
// back into) a staged deprecation item, which is re-staged.
func (e *Engine) ExcludeFromReview(ctx context.Context, id int64, model string, x api.Exclusion) error {
	_, err := e.ExcludeReviewModel(ctx, id, model, x)
	return err
}

// UndoReject implements API: an item a person rejected is staged again.
func (e *Engine) UndoReject(ctx context.Context, id int64) error {
	_, err := e.UndoRejectReview(ctx, id)
	return err
}

// Reject implements API: the item is set aside and its local branch
// deleted; nothing is pushed.
func (e *Engine) Reject(ctx context.Context, id int64, reason string) error {
	_, err := e.RejectReview(ctx, id, reason)
	return err
}

// approveResult is what an approval did, for the audit log: the branch
// pushed and the pull request opened (or why none was), or the reports
// archived or deleted. With err it is how far the approval got before it
// failed ("" when nothing happened).
func approveResult(out *review.Outcome, err error) string {
	if out == nil {
		return ""
	}
	var done []string
	if p := out.Push; p != nil && p.Pushed {
		branch := strings.TrimPrefix(strings.SplitN(p.RefSpec, ":", 2)[0], "refs/heads/")
		done = append(done, fmt.Sprintf("pushed %s (%s) to %s", branch, short(p.Commit), p.Remote))
		switch {
		case out.Opened != nil && out.Opened.Existed:
			done = append(done, fmt.Sprintf("pull request #%d already open: %s", out.Opened.Number, out.Opened.URL))
		case out.Opened != nil:
			done = append(done, fmt.Sprintf("pull request #%d opened: %s", out.Opened.Number, out.Opened.URL))
		case out.PR == nil:
			done = append(done, "no pull request: no GitHub repository configured")
		}
	}
	if len(out.Reports) > 0 {
		verb := "archived"
		if out.Item != nil && out.Item.Kind == review.KindDeleteReports {
			verb = "deleted"
		}
		var names []string
		failed := 0
		for _, r := range out.Reports {
			if r.Archived {
				names = append(names, r.Name+" ("+r.Token+")")
			} else {
				failed++
			}
		}
		if len(names) > 0 {
			done = append(done, fmt.Sprintf("%s %d of %d reports: %s", verb, len(names), len(out.Reports), strings.Join(names, ", ")))
		}
		if failed > 0 && err == nil {
			done = append(done, fmt.Sprintf("%d not %s", failed, verb))
		}
	}
	if len(done) == 0 {
		return ""
	}
	if err != nil {
		return "before that: " + strings.Join(done, "; ")
	}
	return api.AuditOK + ": " + strings.Join(done, "; ")
}

// short is a commit hash as git log --oneline shows it.
func short(hash string) string {
	if len(hash) > 7 {
		return hash[:7]
	}
	return hash
}
