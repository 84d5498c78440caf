package meta_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/synth"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

// BenchmarkAnalyze runs the whole analysis (manifest already decoded) on a
// generated 5,000-model project and a workspace of 2,500 reports with
// 10,000 queries, a fifth of the reports stale.
func BenchmarkAnalyze(b *testing.B) {
	g := synth.DAG(5000, 1)
	m, err := dbt.ReadManifest(bytes.NewReader(synth.Manifest(g, synth.ManifestOptions{})))
	if err != nil {
		b.Fatal(err)
	}
	models := m.IDs(dbt.Model)
	bi := &mode.Graph{Workspace: "bench", Queries: map[string][]mode.Query{}}
	for i := range 2500 {
		r := mode.Report{Token: fmt.Sprintf("r%04d", i), Name: fmt.Sprintf("Report %d", i), CreatedAt: now.AddDate(-2, 0, 0),
			LastRunAt: now.AddDate(0, 0, -1), RunsCount: 50, ViewCount: 50}
		if i%5 == 0 {
			r.LastRunAt = now.AddDate(-1, 0, 0)
		}
		bi.Reports = append(bi.Reports, r)
		for q := range 4 {
			a, c := m.Nodes[models[(i*7+q*13)%len(models)]], m.Nodes[models[(i*11+q*3)%len(models)]]
			bi.Queries[r.Token] = append(bi.Queries[r.Token], mode.Query{
				Token: fmt.Sprintf("q%d", q), ReportToken: r.Token,
				RawQuery: fmt.Sprintf("-- report %d\nwith x as (select * from %s.%s)\nselect * from x join %s c on true where d >= '{{ start }}'", i, a.Schema, a.Alias, c.RelationName),
			})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := meta.Analyze(context.Background(), meta.Inputs{Manifest: m, BI: &staticBI{g: bi}, Clock: clock.Fixed(now)})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Centrality) != 5000 || r.BI.LinkedQueries != 10000 {
			b.Fatalf("centrality %d, linked %d", len(r.Centrality), r.BI.LinkedQueries)
		}
	}
}
