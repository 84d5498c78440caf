// Package stale decides which BI reports have gone stale, with the rule the
// platform team used by default: a report not run for more than 100 days,
// or barely used (fewer than 5 runs and fewer than 5 views) although it was
// created more than 60 days ago. Thresholds are configurable and every
// verdict says why.
package stale

import (
	"fmt"
	"sort"
	"time"

	"github.com/sluice-dev/sluice/engine/meta/mode"
)

const day = 24 * time.Hour

// Rules are the stale-report thresholds.
type Rules struct {
	// NotRunFor: a report whose last run is older than this is stale
	// (a report that never ran counts from its creation). Zero disables.
	NotRunFor time.Duration `json:"not_run_for"`
	// Low usage: fewer than MinRuns runs and fewer than MinViews views,
	// and created more than MinAge ago. MinRuns or MinViews zero disables.
	MinRuns  int           `json:"min_runs"`
	MinViews int           `json:"min_views"`
	MinAge   time.Duration `json:"min_age"`
}

// DefaultRules are 100 days without a run; runs < 5 and views < 5 after 60
// days.
func DefaultRules() Rules {
	return Rules{NotRunFor: 100 * day, MinRuns: 5, MinViews: 5, MinAge: 60 * day}
}

// Rule names in verdicts.
const (
	RuleNotRun   = "not-run"
	RuleLowUsage = "low-usage"
)

// Verdict is a stale report and why.
type Verdict struct {
	Report mode.Report
	Rule   string
	Reason string
}

// Check applies the rules to one report as of now. Archived reports are
// never stale: they are already gone.
func (r Rules) Check(rep mode.Report, now time.Time) (rule, reason string, stale bool) {
	if rep.Archived {
		return "", "", false
	}
	if r.NotRunFor > 0 {
		if rep.LastRunAt.IsZero() {
			if !rep.CreatedAt.IsZero() && now.Sub(rep.CreatedAt) > r.NotRunFor {
				return RuleNotRun, fmt.Sprintf("never run; created %d days ago (%s)",
					days(now.Sub(rep.CreatedAt)), rep.CreatedAt.Format(time.DateOnly)), true
			}
		} else if idle := now.Sub(rep.LastRunAt); idle > r.NotRunFor {
			return RuleNotRun, fmt.Sprintf("not run for %d days (last run %s)",
				days(idle), rep.LastRunAt.Format(time.DateOnly)), true
		}
	}
	if r.MinRuns > 0 && r.MinViews > 0 && rep.RunsCount < r.MinRuns && rep.ViewCount < r.MinViews &&
		!rep.CreatedAt.IsZero() && now.Sub(rep.CreatedAt) > r.MinAge {
		return RuleLowUsage, fmt.Sprintf("low usage: %d runs and %d views since it was created %d days ago (%s)",
			rep.RunsCount, rep.ViewCount, days(now.Sub(rep.CreatedAt)), rep.CreatedAt.Format(time.DateOnly)), true
	}
	return "", "", false
}

// Find returns the stale reports among reports, sorted by token.
func Find(reports []mode.Report, now time.Time, r Rules) []Verdict {
	var out []Verdict
	for _, rep := range reports {
		if rule, reason, ok := r.Check(rep, now); ok {
			out = append(out, Verdict{Report: rep, Rule: rule, Reason: reason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Report.Token < out[j].Report.Token })
	return out
}

func days(d time.Duration) int { return int(d / day) }
