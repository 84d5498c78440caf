package review

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

func TestUndoReject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a deprecation whose branch the reject deleted is restaged from its candidates", func(t *testing.T) {
		t.Parallel()
		repos := newRepos(t, true)
		svc, _ := setup(t, Config{Repo: repos.user})
		it, err := svc.StageDeprecation(ctx, testCandidates)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Exclude(ctx, it.ID, "old_only", api.Exclusion{}); err != nil {
			t.Fatal(err)
		}
		rejected, err := svc.Reject(ctx, it.ID, "not now")
		if err != nil {
			t.Fatal(err)
		}
		sc, err := svc.itemScratch(rejected)
		if err != nil {
			t.Fatal(err)
		}
		if sc.hasBranch(rejected.Branch, rejected.Commit) {
			t.Fatal("the reject left the branch: the restage path is not exercised")
		}
		got, err := svc.UndoReject(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != api.ReviewStaged || got.RejectReason != "" || !sc.hasBranch(got.Branch, got.Commit) {
			t.Fatalf("after undo: %s, reason %q, branch %s at %s", got.State, got.RejectReason, got.Branch, got.Commit)
		}
		// The model taken out before the reject stays out.
		if len(got.Subjects) != 2 || strings.Contains(got.Diff, "models/legacy/legacy.yml") || !strings.Contains(got.Diff, "models/staging/schema.yml") {
			t.Errorf("%d subjects, diff:\n%s", len(got.Subjects), got.Diff)
		}
		if last := got.History[len(got.History)-1]; last.State != api.ReviewStaged || last.Note != "rejection undone: restaged from its candidates" {
			t.Errorf("last history entry %+v", last)
		}
		stored, err := svc.Get(ctx, it.ID)
		if err != nil || stored.State != api.ReviewStaged || stored.Commit != got.Commit {
			t.Fatalf("stored: %v %+v", err, stored)
		}
		// Approvable again: it pushes.
		if _, err := svc.Approve(ctx, it.ID, false); err != nil {
			t.Fatalf("approving the restored item: %v", err)
		}
		if _, err := svc.UndoReject(ctx, it.ID); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "not rejected") {
			t.Errorf("undoing what is not rejected: %v", err)
		}
	})

	t.Run("an exposures branch gets its commit back", func(t *testing.T) {
		t.Parallel()
		repos := newRepos(t, true)
		svc, _ := setup(t, Config{Repo: repos.user})
		it, err := svc.StageExposures(ctx, Exposures{Path: "models/exposures.yml", Content: []byte("version: 2\nexposures: []\n")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reject(ctx, it.ID, ""); err != nil {
			t.Fatal(err)
		}
		got, err := svc.UndoReject(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		sc, _ := svc.itemScratch(got)
		if got.State != api.ReviewStaged || got.Commit != it.Commit || !sc.hasBranch(it.Branch, it.Commit) {
			t.Errorf("after undo: %s, commit %s (was %s)", got.State, got.Commit, it.Commit)
		}
	})

	t.Run("an archive item is staged again", func(t *testing.T) {
		t.Parallel()
		svc, _ := setup(t, Config{})
		it, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "Old", Reason: "not run for 101 days"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reject(ctx, it.ID, "finance"); err != nil {
			t.Fatal(err)
		}
		got, err := svc.UndoReject(ctx, it.ID)
		if err != nil || got.State != api.ReviewStaged || got.RejectReason != "" {
			t.Fatalf("%v %+v", err, got)
		}
	})

	t.Run("a withdrawn item is not a person's rejection", func(t *testing.T) {
		t.Parallel()
		svc, _ := setup(t, Config{})
		it, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "Old"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.StageArchive(ctx, []StaleReport{}); err != nil { // a run proposes nothing: withdrawn
			t.Fatal(err)
		}
		if _, err := svc.UndoReject(ctx, it.ID); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "withdrew") {
			t.Errorf("undo of a withdrawn item: %v", err)
		}
	})

	t.Run("a newer item supersedes the rejection", func(t *testing.T) {
		t.Parallel()
		svc, _ := setup(t, Config{})
		it, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "Old"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reject(ctx, it.ID, ""); err != nil {
			t.Fatal(err)
		}
		next, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "Old"}, {Token: "t2", Name: "Older"}})
		if err != nil || next == nil || next.ID == it.ID {
			t.Fatalf("the second proposal: %v %+v", err, next)
		}
		_, err = svc.UndoReject(ctx, it.ID)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "superseded") {
			t.Errorf("undo of a superseded rejection: %v", err)
		}
		if got, _ := svc.Get(ctx, it.ID); got.State != api.ReviewRejected {
			t.Errorf("the refused undo changed the item: %s", got.State)
		}
	})
}
