package review

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// A reviewer takes models out of a staged deprecation: the item is
// re-staged without them (diff, files, subjects), undo puts one back, and
// a model kept for good is never proposed again, even by a later run.
func TestExcludeFromReview(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{Repo: repos.user})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(it.Diff, "models/legacy/legacy.yml") {
		t.Fatalf("diff: %s", it.Diff)
	}

	// Only this time: old_only leaves the branch.
	got, err := svc.Exclude(ctx, it.ID, "old_only", api.Exclusion{})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != api.ReviewStaged || len(got.Subjects) != 2 || strings.Contains(got.Diff, "models/legacy/legacy.yml") || got.Commit == it.Commit {
		t.Fatalf("after excluding old_only: %s, %d subjects, commit %s\n%s", got.State, len(got.Subjects), got.Commit, got.Diff)
	}
	if !strings.HasPrefix(got.Title, "Deprecate 2 unused") || got.History[len(got.History)-1].Note != "old_only taken out of the branch, only this time" {
		t.Errorf("title %q, note %q", got.Title, got.History[len(got.History)-1].Note)
	}
	snap := got.Snapshot()
	if last := snap.Subjects[len(snap.Subjects)-1]; last.Name != "old_only" || last.Excluded != "left out this time" {
		t.Errorf("read model: %+v", snap.Subjects)
	}

	// Undo puts it back.
	got, err = svc.Exclude(ctx, it.ID, "old_only", api.Exclusion{Undo: true})
	if err != nil || len(got.Subjects) != 3 || !strings.Contains(got.Diff, "models/legacy/legacy.yml") {
		t.Fatalf("undo: %v %d", err, len(got.Subjects))
	}

	// Kept for good needs a reason; with one, it is out and stays out.
	if _, err := svc.Exclude(ctx, it.ID, "stg_payments", api.Exclusion{Keep: true}); !errors.Is(err, ErrKeepReason) {
		t.Fatalf("keep without a reason: %v", err)
	}
	if _, err := svc.Exclude(ctx, it.ID, "model.jaffle_shop.stg_payments", api.Exclusion{Keep: true, Reason: "finance reads it monthly"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Exclude(ctx, it.ID, "legacy_report", api.Exclusion{}); err != nil {
		t.Fatal(err)
	}
	// The last model cannot go: rejecting the item is the way.
	if _, err := svc.Exclude(ctx, it.ID, "old_only", api.Exclusion{}); !errors.Is(err, ErrState) {
		t.Fatalf("excluding the last model: %v", err)
	}
	if _, err := svc.Exclude(ctx, it.ID, "nope", api.Exclusion{Undo: true}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("undo of a model not out: %v", err)
	}
	if _, err := svc.Reject(ctx, it.ID, ""); err != nil {
		t.Fatal(err)
	}

	// A later run proposes the three again: the kept one is not proposed;
	// the one left out only that time is.
	next, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range next.Subjects {
		names = append(names, s.Name)
	}
	if next.ID == it.ID || strings.Join(names, ",") != "legacy_report,old_only" || strings.Contains(next.Diff, "stg_payments") {
		t.Fatalf("next run proposes %v\n%s", names, next.Diff)
	}
	// A settled item's models cannot be changed.
	if _, err := svc.Exclude(ctx, it.ID, "old_only", api.Exclusion{}); !errors.Is(err, ErrState) {
		t.Errorf("excluding from a rejected item: %v", err)
	}
}
