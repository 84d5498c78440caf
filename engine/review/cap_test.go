package review

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// The safety cap: a deprecation deleting more than MaxDeleteFraction of the
// project's models is refused with a message naming the cap, and nothing
// is staged; under the cap (or with it raised) the branch is staged.
func TestStageRefusesDeletionsAboveTheCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})

	// 3 of 6 models: 50% > the default 20%.
	items, err := svc.Stage(ctx, Proposal{Deprecate: testCandidates, Models: 6})
	if !errors.Is(err, ErrDeleteCap) || !strings.Contains(err.Error(), "--max-delete-fraction 0.2") ||
		!strings.Contains(err.Error(), "3 of 6 dbt models (50%)") {
		t.Fatalf("err = %v", err)
	}
	if len(items) != 0 {
		t.Errorf("staged %+v above the cap", items)
	}
	if all, _ := svc.List(ctx); len(all) != 0 {
		t.Errorf("store holds %d items", len(all))
	}

	// 1 of 6 passes the default cap.
	items, err = svc.Stage(ctx, Proposal{Deprecate: testCandidates[:1], Models: 6})
	if err != nil || len(items) != 1 || items[0].State != api.ReviewStaged {
		t.Fatalf("under the cap: %v %+v", err, items)
	}

	raised, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, MaxDeleteFraction: 0.5})
	if items, err := raised.Stage(ctx, Proposal{Deprecate: testCandidates, Models: 6}); err != nil || len(items) != 1 {
		t.Fatalf("at a raised cap of 0.5: %v %+v", err, items)
	}
	if _, err := raised.Stage(ctx, Proposal{Deprecate: testCandidates, Models: 5}); !errors.Is(err, ErrDeleteCap) ||
		!strings.Contains(err.Error(), "--max-delete-fraction 0.5") {
		t.Errorf("3 of 5 at 0.5: %v", err)
	}
}

// Models a reviewer kept for good are not in the branch, so they do not
// count against the cap: a run proposing them again with one other model
// stages that one, where counting all three would refuse the branch.
func TestCapCountsOnlyModelsTheBranchTakes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{Repo: repos.user, MaxDeleteFraction: 0.5})
	items, err := svc.Stage(ctx, Proposal{Deprecate: testCandidates, Models: 6}) // 3 of 6: at the cap
	if err != nil || len(items) != 1 {
		t.Fatalf("stage: %v %+v", err, items)
	}
	for _, m := range []string{"stg_payments", "legacy_report"} {
		if _, err := svc.Exclude(ctx, items[0].ID, m, api.Exclusion{Keep: true, Reason: "finance reads it"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Reject(ctx, items[0].ID, "not now"); err != nil {
		t.Fatal(err)
	}
	// 3 of 5 would be 60%, above 0.5; without the two kept it is 1 of 5.
	items, err = svc.Stage(ctx, Proposal{Deprecate: testCandidates, Models: 5})
	if err != nil || len(items) != 1 || len(items[0].Subjects) != 1 || items[0].Subjects[0].Name != "old_only" {
		t.Fatalf("with two kept: %v %+v", err, items)
	}
	// Two models the branch would take, of 3: above the cap still.
	more := append(append([]Candidate(nil), testCandidates...), Candidate{UniqueID: "model.jaffle_shop.extra", Name: "extra", Files: []string{"models/extra.sql"}})
	if _, err := svc.Stage(ctx, Proposal{Deprecate: more, Models: 3}); !errors.Is(err, ErrDeleteCap) || !strings.Contains(err.Error(), "2 of 3 dbt models") {
		t.Errorf("2 of 3 at 0.5: %v", err)
	}
}
