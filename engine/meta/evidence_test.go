package meta_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta"
)

// Each candidate carries what a reviewer weighs: the consumers it reaches
// none of, its last run from run_results, its centrality, and the BI
// queries (of stale reports) that read it.
func TestCandidateEvidence(t *testing.T) {
	t.Parallel()
	in := jaffleInputs(t, &staticBI{g: jaffleBI()})
	// Two builds of products: the later one is the last run.
	in.RunResultsDir = t.TempDir()
	for name, body := range map[string]string{
		"a.json": runResults("2025-05-01T04:00:00Z", "model.jaffle_shop.products", "success", 2.5),
		"b.json": runResults("2025-05-30T04:00:00Z", "model.jaffle_shop.products", "error", 1.25),
	} {
		if err := os.WriteFile(filepath.Join(in.RunResultsDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := meta.Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]meta.Candidate{}
	for _, c := range r.Candidates {
		by[c.Name] = c
	}
	products, ok := by["products"]
	if !ok {
		t.Fatalf("products not a candidate: %+v", r.Candidates)
	}
	ev := products.Evidence
	if ev.Unreached != "reaches none of 2 live BI queries" {
		t.Errorf("unreached = %q", ev.Unreached)
	}
	if len(ev.BIQueries) != 1 || !strings.Contains(ev.BIQueries[0], "Old products") || !strings.HasSuffix(ev.BIQueries[0], "(r_old/q3)") {
		t.Errorf("BI queries = %q", ev.BIQueries)
	}
	if ev.Runs != 2 || ev.LastStatus != "error" || !ev.LastRunAt.Equal(time.Date(2025, 5, 30, 4, 0, 0, 0, time.UTC)) ||
		ev.LastRuntime != 1250*time.Millisecond {
		t.Errorf("last run = %+v", ev)
	}
	for _, c := range r.Centrality {
		if c.ID == products.UniqueID {
			if ev.Centrality.ID != c.ID || ev.Centrality.Degree != c.Degree || ev.Centrality.PageRank != c.PageRank ||
				ev.Centrality.Betweenness != c.Betweenness || ev.Centrality.Importance != products.Importance {
				t.Errorf("centrality = %+v, want %+v", ev.Centrality, c)
			}
		}
	}
	if ev.Centrality.ID == "" || ev.Centrality.PageRank == 0 {
		t.Errorf("no centrality in the evidence: %+v", ev.Centrality)
	}
	if q := by["supplies"].Evidence.BIQueries; len(q) != 0 {
		t.Errorf("supplies read by %q", q)
	}
}

func runResults(at, id, status string, seconds float64) string {
	return fmt.Sprintf(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v5.json", "generated_at": %q},
 "args": {"which": "build"}, "results": [{"unique_id": %q, "status": %q, "execution_time": %g}]}`, at, id, status, seconds)
}
