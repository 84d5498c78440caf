package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/styles"
)

// evidenceLines renders what backs a deprecation candidate under its row:
// the consumers it reaches none of, its last run, its centrality and the
// BI queries that read it. Each fact wraps within width, indented.
func evidenceLines(ev *api.ReviewEvidence, now time.Time, width int) []string {
	if ev == nil {
		return nil
	}
	lastRun := "last run: none in the run history"
	if !ev.LastRunAt.IsZero() {
		lastRun = fmt.Sprintf("last run %s (%s), %s, %s", ev.LastRunAt.UTC().Format("2006-01-02"), agoText(now, ev.LastRunAt),
			ev.LastRuntime.Round(10*time.Millisecond), orNone(ev.LastStatus))
	}
	c := ev.Centrality
	facts := []string{
		"why: " + orNone(ev.Unreached),
		lastRun,
		fmt.Sprintf("centrality: importance %.4f · degree %.3f (in %.3f, out %.3f) · closeness %.3f · betweenness %.3f · pagerank %.4f",
			c.Importance, c.Degree, c.InDegree, c.OutDegree, c.Closeness, c.Betweenness, c.PageRank),
	}
	if len(ev.BIQueries) == 0 {
		facts = append(facts, "BI queries that read it: none")
	} else {
		facts = append(facts, "BI queries that read it: "+strings.Join(ev.BIQueries, "; "))
	}
	const indent = "    "
	var out []string
	for _, f := range facts {
		for _, l := range strings.Split(ansi.Wrap(f, max(width-len(indent), 10), " "), "\n") {
			out = append(out, indent+l)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// checksText colours a pull request's checks state.
func checksText(st *styles.Styles, checks string) string {
	switch checks {
	case "failure":
		return st.Error.Render(checks)
	case "success":
		return st.DiffAdded.Render(checks)
	}
	return checks
}
