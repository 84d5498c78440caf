package stale_test

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/meta/stale"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ago := func(days int) time.Time { return now.Add(-time.Duration(days) * 24 * time.Hour) }
	tests := []struct {
		name   string
		rep    mode.Report
		rules  stale.Rules
		rule   string
		reason string
	}{
		{"recently run and used", mode.Report{CreatedAt: ago(400), LastRunAt: ago(3), RunsCount: 80, ViewCount: 300}, stale.DefaultRules(), "", ""},
		{"not run for 101 days", mode.Report{CreatedAt: ago(400), LastRunAt: ago(101), RunsCount: 80, ViewCount: 300}, stale.DefaultRules(),
			stale.RuleNotRun, "not run for 101 days (last run 2025-02-20)"},
		{"exactly 100 days is not more than 100", mode.Report{CreatedAt: ago(400), LastRunAt: ago(100), RunsCount: 80, ViewCount: 300}, stale.DefaultRules(), "", ""},
		{"never run, old", mode.Report{CreatedAt: ago(150)}, stale.DefaultRules(), stale.RuleNotRun, "never run; created 150 days ago (2025-01-02)"},
		{"never run, 70 days: low usage", mode.Report{CreatedAt: ago(70)}, stale.DefaultRules(),
			stale.RuleLowUsage, "low usage: 0 runs and 0 views since it was created 70 days ago (2025-03-23)"},
		{"never run, new", mode.Report{CreatedAt: ago(10)}, stale.DefaultRules(), "", ""},
		{"low usage", mode.Report{CreatedAt: ago(61), LastRunAt: ago(1), RunsCount: 4, ViewCount: 4}, stale.DefaultRules(),
			stale.RuleLowUsage, "low usage: 4 runs and 4 views since it was created 61 days ago (2025-04-01)"},
		{"low runs, enough views", mode.Report{CreatedAt: ago(61), LastRunAt: ago(1), RunsCount: 4, ViewCount: 5}, stale.DefaultRules(), "", ""},
		{"low usage but young", mode.Report{CreatedAt: ago(59), LastRunAt: ago(1), RunsCount: 1, ViewCount: 1}, stale.DefaultRules(), "", ""},
		{"archived", mode.Report{CreatedAt: ago(900), LastRunAt: ago(800), Archived: true}, stale.DefaultRules(), "", ""},
		{"custom threshold", mode.Report{CreatedAt: ago(400), LastRunAt: ago(31), RunsCount: 80, ViewCount: 300},
			stale.Rules{NotRunFor: 30 * 24 * time.Hour}, stale.RuleNotRun, "not run for 31 days (last run 2025-05-01)"},
		{"rules disabled", mode.Report{CreatedAt: ago(900), LastRunAt: ago(800)}, stale.Rules{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rule, reason, ok := tt.rules.Check(tt.rep, now)
			if rule != tt.rule || reason != tt.reason || ok != (tt.rule != "") {
				t.Errorf("Check = %q, %q, %v; want %q, %q", rule, reason, ok, tt.rule, tt.reason)
			}
		})
	}
}

func TestFindSortsAndSkips(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	old := now.AddDate(-1, 0, 0)
	got := stale.Find([]mode.Report{
		{Token: "b", CreatedAt: old, LastRunAt: old, RunsCount: 50, ViewCount: 50},
		{Token: "c", CreatedAt: old, LastRunAt: now, RunsCount: 50, ViewCount: 50},
		{Token: "a", CreatedAt: old, RunsCount: 1},
	}, now, stale.DefaultRules())
	if len(got) != 2 || got[0].Report.Token != "a" || got[1].Report.Token != "b" || got[0].Rule != stale.RuleNotRun {
		t.Errorf("Find = %+v", got)
	}
}
