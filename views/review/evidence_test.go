package review

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// An open deprecation item shows each model's evidence under its row.
func TestDetailShowsEvidence(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Reviews[0].Subjects[0].Evidence = &api.ReviewEvidence{
		Unreached: "reaches none of 2 exposures, 41 live BI queries",
		LastRunAt: viewtest.Now.Add(-3 * 24 * time.Hour), LastRuntime: 2500 * time.Millisecond, LastStatus: "success", Runs: 14,
		Centrality: api.Centrality{Importance: 0.0123, Degree: 0.25, Betweenness: 0.5, PageRank: 0.0625},
		BIQueries:  []string{"Old KPIs / orders by day (9f3a/01b2)"},
	}
	snap.Reviews[0].Subjects[1].Evidence = &api.ReviewEvidence{Unreached: "reaches none of 2 exposures"}
	m := newPane(t, snap, true, 160, 80)
	press(m, "enter")
	screen := sgr.ReplaceAllString(m.View(), "")
	for _, want := range []string{
		"why: reaches none of 2 exposures, 41 live BI queries",
		"last run " + viewtest.Now.Add(-3*24*time.Hour).UTC().Format("2006-01-02") + " (3d ago), 2.5s, success",
		"importance 0.0123 · degree 0.250",
		"betweenness 0.500",
		"BI queries that read it: Old KPIs / orders by day (9f3a/01b2)",
		"last run: none in the run history",
		"BI queries that read it: none",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("detail lacks %q:\n%s", want, screen)
		}
	}
	// The evidence sits under its own model's row, before the next model.
	i, j := strings.Index(screen, "Old KPIs"), strings.Index(screen, "legacy_customers")
	if i < 0 || j < 0 || i > j {
		t.Errorf("evidence of legacy_orders not under its row:\n%s", screen)
	}
}

// A followed pull request shows its checks, and what became of it.
func TestDetailShowsPullRequestFollowUp(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	snap.Reviews[1].Checks = "failure"
	m := newPane(t, snap, true, 160, 80)
	press(m, "j", "enter")
	if screen := sgr.ReplaceAllString(m.View(), ""); !strings.Contains(screen, "pull request https://github.com/acme/analytics/pull/42 · checks failure") {
		t.Errorf("no checks in the detail:\n%s", screen)
	}
	snap = viewtest.Reviews()
	snap.Reviews[1].State = api.ReviewDeclined
	m = newPane(t, snap, true, 160, 80)
	press(m, "j", "enter")
	if screen := sgr.ReplaceAllString(m.View(), ""); !strings.Contains(screen, "closed unmerged: a reviewer declined") {
		t.Errorf("declined not shown:\n%s", screen)
	}
}
