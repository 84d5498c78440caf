package review

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// The pull request body and the read model carry each model's evidence.
func TestEvidenceInPullRequestAndSnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, GitHubRepo: "acme/dbt"})
	cands := append([]Candidate(nil), testCandidates...)
	cands[1].Evidence = &Evidence{
		Unreached:   "reaches none of 2 exposures, 41 live BI queries",
		LastRunAt:   time.Date(2025, 12, 30, 4, 0, 0, 0, time.UTC),
		LastRuntime: 2500 * time.Millisecond, LastStatus: "success", Runs: 14,
		Centrality: api.Centrality{ID: cands[1].UniqueID, Degree: 0.25, InDegree: 0.125, OutDegree: 0.125, Closeness: 0.5, Betweenness: 0.75, PageRank: 0.0625, Importance: 0.05},
		BIQueries:  []string{"Old KPIs / orders by day (9f3a/01b2)"},
	}
	cands[0].Evidence = &Evidence{Unreached: "reaches none of 2 exposures, 41 live BI queries"}
	it, err := svc.StageDeprecation(ctx, cands)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := svc.Approve(ctx, it.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"**`legacy_report`** (`model.jaffle_shop.legacy_report`)",
		"- Why unused: reaches none of 2 exposures, 41 live BI queries",
		"- Last run: 2025-12-30 04:00 UTC, 2.5s, success (14 runs in the history)",
		"- Centrality: importance 0.0500; degree 0.2500 (in 0.1250, out 0.1250); closeness 0.5000; betweenness 0.7500; PageRank 0.0625",
		"- BI queries that read it (all stale or archived): Old KPIs / orders by day (9f3a/01b2)",
		"- Last run: none in the dbt run history read",
		"- BI queries that read it: none",
	} {
		if !strings.Contains(dry.PR.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, dry.PR.Body)
		}
	}
	// old_only has no evidence: no section for it.
	if strings.Contains(dry.PR.Body, "**`old_only`**") {
		t.Errorf("evidence section for a model without evidence:\n%s", dry.PR.Body)
	}
	snap := svc.Reviews()
	if len(snap) != 1 {
		t.Fatalf("reviews = %d", len(snap))
	}
	var got *api.ReviewEvidence
	for _, s := range snap[0].Subjects {
		if s.Name == "legacy_report" {
			got = s.Evidence
		}
	}
	if got == nil || got.Runs != 14 || got.Centrality.Betweenness != 0.75 || len(got.BIQueries) != 1 {
		t.Errorf("read model evidence = %+v", got)
	}
	// It survives the store.
	again, err := svc.Get(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range again.Subjects {
		if s.Name == "legacy_report" && (s.Evidence == nil || !s.Evidence.LastRunAt.Equal(cands[1].Evidence.LastRunAt)) {
			t.Errorf("stored evidence = %+v", s.Evidence)
		}
	}
}
