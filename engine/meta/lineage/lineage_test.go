package lineage_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/meta/sqlref"
)

func manifest(t *testing.T, name string) *dbt.Manifest {
	t.Helper()
	m, err := dbt.ReadManifestFile(fixtures.Manifest(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// jaffleBI is a workspace over the jaffle_shop v12 (DuckDB) manifest: a live
// report reading customers and locations, a stale one reading products, and
// an archived one (whose queries are never fetched).
func jaffleBI() *mode.Graph {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return &mode.Graph{
		Workspace: "acme",
		Reports: []mode.Report{
			{Token: "r_arch", Name: "Archived", Archived: true, CreatedAt: at},
			{Token: "r_live", Name: "Revenue", CreatedAt: at, LastRunAt: at, RunsCount: 90, ViewCount: 400},
			{Token: "r_old", Name: "Old", CreatedAt: at},
		},
		Queries: map[string][]mode.Query{
			"r_live": {
				{Token: "q1", Name: "customers", ReportToken: "r_live", RawQuery: `select * from "jaffle_shop"."main"."customers" c -- from supplies`},
				{Token: "q2", Name: "locations", ReportToken: "r_live", RawQuery: "with l as (select * from main.locations) select * from l join {{ @store_def as s }} on true join lookup_table on true"},
			},
			"r_old": {
				{Token: "q3", Name: "products", ReportToken: "r_old", RawQuery: "SELECT name FROM Products"},
			},
		},
	}
}

func analyse(t *testing.T, m *dbt.Manifest, bi *mode.Graph, o lineage.CandidateOptions) (*lineage.Graph, []lineage.QueryLink, []lineage.Candidate) {
	t.Helper()
	links := lineage.LinkQueries(sqlref.NewIndex(lineage.Relations(m)), bi)
	g := lineage.Build(m, bi, links)
	return g, links, lineage.Candidates(g, m, o)
}

func TestLinkQueries(t *testing.T) {
	t.Parallel()
	m := manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb")
	_, links, _ := analyse(t, m, jaffleBI(), lineage.CandidateOptions{})
	if len(links) != 3 {
		t.Fatalf("links = %+v", links)
	}
	got := map[string][]string{}
	for _, l := range links {
		for _, r := range l.Refs {
			got[l.Query] = append(got[l.Query], r.IDs...)
		}
	}
	want := map[string][]string{
		"q1": {"model.jaffle_shop.customers"},
		"q2": {"model.jaffle_shop.locations"},
		"q3": {"model.jaffle_shop.products"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("links = %v, want %v", got, want)
	}
	q2 := links[1]
	if len(q2.Unmatched) != 1 || q2.Unmatched[0].Name() != "lookup_table" || !reflect.DeepEqual(q2.Definitions, []string{"store_def"}) {
		t.Errorf("q2 unmatched = %v, definitions = %v", q2.Unmatched, q2.Definitions)
	}
	if links[0].Refs[0].By != sqlref.ByRelationName || links[2].Refs[0].By != sqlref.ByAlias {
		t.Errorf("match kinds = %v, %v", links[0].Refs[0].By, links[2].Refs[0].By)
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	m := manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb")
	g, _, _ := analyse(t, m, jaffleBI(), lineage.CandidateOptions{})
	kinds := g.Kinds()
	if kinds[dbt.Model] != 13 || kinds[lineage.KindReport] != 2 || kinds[lineage.KindQuery] != 3 || kinds[dbt.Source] != 6 {
		t.Errorf("kinds = %v", kinds)
	}
	if got := g.Children("model.jaffle_shop.customers"); !reflect.DeepEqual(got, []string{"mode.query.r_live.q1", "semantic_model.jaffle_shop.customers"}) {
		t.Errorf("children of customers = %v", got)
	}
	if got := g.Parents(lineage.ReportKey("r_live")); !reflect.DeepEqual(got, []string{"mode.query.r_live.q1", "mode.query.r_live.q2"}) {
		t.Errorf("parents of the live report = %v", got)
	}
	if _, ok := g.Node(lineage.ReportKey("r_arch")); ok {
		t.Error("archived report in the graph")
	}
	if g.Gonum().Nodes().Len() != g.Len() {
		t.Error("gonum view out of step")
	}
}

func ids(cs []lineage.Candidate) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.UniqueID)
	}
	return out
}

func TestCandidates(t *testing.T) {
	t.Parallel()
	// The project without its semantic layer: BI queries and keep rules
	// decide. (With it, see TestCandidatesSemanticLayer.)
	m := fixtures.WithoutSemanticLayer(manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb"))
	staleOld := map[string]string{"r_old": "Old"}
	tests := []struct {
		name string
		bi   *mode.Graph
		opts lineage.CandidateOptions
		want []string
	}{
		{"dbt alone: nothing consumes", nil, lineage.CandidateOptions{}, m.IDs(dbt.Model)},
		{"live and stale reports", jaffleBI(), lineage.CandidateOptions{Stale: staleOld},
			[]string{"model.jaffle_shop.metricflow_time_spine", "model.jaffle_shop.products", "model.jaffle_shop.supplies"}},
		{"stale report not stale", jaffleBI(), lineage.CandidateOptions{},
			[]string{"model.jaffle_shop.metricflow_time_spine", "model.jaffle_shop.supplies"}},
		{"keep by path glob and list", jaffleBI(), lineage.CandidateOptions{Stale: staleOld, Keep: lineage.KeepRules{
			Paths: []string{"models/**/supplies.sql"}, Models: []string{"metricflow_time_spine"}}},
			[]string{"model.jaffle_shop.products"}},
		{"keep by unique_id", jaffleBI(), lineage.CandidateOptions{Stale: staleOld, Keep: lineage.KeepRules{
			Models: []string{"model.jaffle_shop.products", "model.jaffle_shop.supplies", "model.jaffle_shop.metricflow_time_spine"}}},
			[]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, cs := analyse(t, m, tt.bi, tt.opts)
			if got := ids(cs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("candidates = %v\nwant %v", got, tt.want)
			}
		})
	}

	_, _, cs := analyse(t, m, jaffleBI(), lineage.CandidateOptions{Stale: staleOld})
	want := lineage.Candidate{
		UniqueID: "model.jaffle_shop.products", Name: "products",
		Reason:       `only consumer is stale report "Old" (r_old)`,
		Files:        []string{"models/marts/products.sql", "models/marts/products.yml"},
		SQLFile:      "models/marts/products.sql",
		PatchPath:    "jaffle_shop://models/marts/products.yml",
		StaleReports: []string{"r_old"},
	}
	if !reflect.DeepEqual(cs[1], want) {
		t.Errorf("products =\n%+v\nwant\n%+v", cs[1], want)
	}
	if cs[0].Reason != lineage.ReasonNoConsumer || cs[0].Files[0] != "models/marts/metricflow_time_spine.sql" {
		t.Errorf("time spine = %+v", cs[0])
	}
}

func TestCandidatesSeveralStaleReports(t *testing.T) {
	t.Parallel()
	m := manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb")
	bi := jaffleBI()
	bi.Reports = append(bi.Reports, mode.Report{Token: "r_old2", Name: "Older"})
	bi.Queries["r_old2"] = []mode.Query{{Token: "q4", RawQuery: "select * from main.stg_products join main.products on true"}}
	m = fixtures.WithoutSemanticLayer(m)
	_, _, cs := analyse(t, m, bi, lineage.CandidateOptions{Stale: map[string]string{"r_old": "Old", "r_old2": "Older"}})
	var reason string
	for _, c := range cs {
		if c.Name == "products" {
			reason = c.Reason
		}
	}
	if reason != `only consumers are stale reports "Old" (r_old), "Older" (r_old2)` {
		t.Errorf("products: %q", reason)
	}
	// stg_products feeds order_items, which the live report uses: alive.
	for _, c := range cs {
		if c.Name == "stg_products" {
			t.Errorf("stg_products is a candidate: %+v", c)
		}
	}
}

// An exposure keeps its upstream alive; the exposures sluice generated
// itself do not (the Mode reports behind them decide).
func TestCandidatesExposures(t *testing.T) {
	t.Parallel()
	m := fixtures.WithoutSemanticLayer(manifest(t, "dbtcore_state__v12"))
	_, _, cs := analyse(t, m, nil, lineage.CandidateOptions{})
	if got := ids(cs); !reflect.DeepEqual(got, []string{"model.test.metricflow_time_spine"}) {
		t.Errorf("candidates = %v", got)
	}
	_, _, cs = analyse(t, m, nil, lineage.CandidateOptions{IgnoreExposureFiles: []string{"./models/schema.yml"}})
	if got := ids(cs); !reflect.DeepEqual(got, []string{"model.test.metricflow_time_spine", "model.test.my_model"}) {
		t.Errorf("candidates ignoring the exposure file = %v", got)
	}
}

// Semantic models, metrics and saved queries are consumers in their own
// right, and the time spine stays while any of them exists: on both real
// jaffle_shop v12 manifests nothing feeding them is proposed, with or
// without a BI workspace, even when the only report reading products is
// stale (issue 14: a branch removing products broke dbt parse).
func TestCandidatesSemanticLayer(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"jaffle_shop__v12__dbt1.12.0__duckdb", "jaffle_shop__v12__dbt1.10.13__duckdb"} {
		for _, bi := range []*mode.Graph{nil, jaffleBI()} {
			t.Run(fmt.Sprintf("%s/bi=%v", name, bi != nil), func(t *testing.T) {
				t.Parallel()
				m := manifest(t, name)
				links := lineage.LinkQueries(sqlref.NewIndex(lineage.Relations(m)), bi)
				g := lineage.Build(m, bi, links)
				res := lineage.Analyze(g, m, lineage.CandidateOptions{Stale: map[string]string{"r_old": "Old"}})
				// Everything upstream of a semantic object, and the spine.
				fed := map[string]bool{"model.jaffle_shop.metricflow_time_spine": true}
				var walk func(string)
				walk = func(key string) {
					for _, p := range g.Parents(key) {
						if !fed[p] {
							fed[p] = true
							walk(p)
						}
					}
				}
				for _, id := range m.IDs(dbt.SemanticModel, dbt.Metric, dbt.SavedQuery) {
					walk(id)
				}
				if !fed["model.jaffle_shop.products"] || !fed["model.jaffle_shop.stg_supplies"] {
					t.Fatalf("walk found %v", fed)
				}
				for _, c := range res.Models {
					if fed[c.UniqueID] {
						t.Errorf("%s feeds the semantic layer but is proposed: %s", c.UniqueID, c.Reason)
					}
				}
				if len(res.Models) != 0 || len(res.Sources) != 0 {
					t.Errorf("models %v, sources %v: jaffle_shop uses everything", ids(res.Models), ids(res.Sources))
				}
				if ev := res.Evidence; ev.Semantic == 0 || ev.TimeSpine != 1 || ev.BI != (bi != nil) || !ev.Any() {
					t.Errorf("evidence = %+v", ev)
				}
			})
		}
	}
}

// Without a semantic layer the time spine is a model like any other, and
// sources no one reads through a consumer are reported.
func TestUnusedSources(t *testing.T) {
	t.Parallel()
	m := fixtures.WithoutSemanticLayer(manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb"))
	bi := jaffleBI()
	bi.Queries["r_live"] = bi.Queries["r_live"][1:] // locations only
	links := lineage.LinkQueries(sqlref.NewIndex(lineage.Relations(m)), bi)
	res := lineage.Analyze(lineage.Build(m, bi, links), m, lineage.CandidateOptions{Stale: map[string]string{"r_old": "Old"}})
	for _, c := range res.Models {
		if c.Name == "locations" || c.Name == "stg_locations" {
			t.Errorf("%s is read by the live report: %+v", c.Name, c)
		}
	}
	want := []string{"source.jaffle_shop.ecom.raw_customers", "source.jaffle_shop.ecom.raw_items",
		"source.jaffle_shop.ecom.raw_orders", "source.jaffle_shop.ecom.raw_products", "source.jaffle_shop.ecom.raw_supplies"}
	if got := ids(res.Sources); !reflect.DeepEqual(got, want) {
		t.Errorf("sources = %v", got)
	}
	for _, c := range res.Sources {
		if c.SourceName != "ecom" || !strings.HasPrefix(c.Name, "raw_") || len(c.Files) != 0 || c.PatchPath == "" {
			t.Errorf("source candidate = %+v", c)
		}
		if c.Name == "raw_products" && !strings.Contains(c.Reason, "stale report") {
			t.Errorf("raw_products only feeds the stale report: %q", c.Reason)
		}
	}
	if ev := res.Evidence; ev.Semantic != 0 || ev.TimeSpine != 0 || ev.Queries != 1 || !ev.BI {
		t.Errorf("evidence = %+v", ev)
	}
}

func TestCandidatesSkipPackageModels(t *testing.T) {
	t.Parallel()
	m := manifest(t, "jaffle_shop__v11__dbt1.7.0__bigquery")
	_, _, cs := analyse(t, m, nil, lineage.CandidateOptions{})
	if len(cs) != 5 {
		t.Errorf("%d candidates, want the 5 local models: %v", len(cs), ids(cs))
	}
	_, _, cs = analyse(t, m, nil, lineage.CandidateOptions{IncludePackages: true})
	if len(cs) != 35 {
		t.Errorf("%d candidates with packages, want 35", len(cs))
	}
}

func TestKeepRules(t *testing.T) {
	t.Parallel()
	n := &dbt.Node{UniqueID: "model.p.fct_revenue", Name: "fct_revenue", OriginalFilePath: "models/finance/marts/fct_revenue.sql", Tags: []string{"Finance"}}
	tests := []struct {
		rules lineage.KeepRules
		why   string
	}{
		{lineage.KeepRules{Tags: []string{"finance"}}, "tag finance"},
		{lineage.KeepRules{Paths: []string{"models/finance/**"}}, "path models/finance/**"},
		{lineage.KeepRules{Paths: []string{"**/fct_*.sql"}}, "path **/fct_*.sql"},
		{lineage.KeepRules{Paths: []string{"models/*/fct_revenue.sql"}}, ""},
		{lineage.KeepRules{Paths: []string{"models/finance"}}, ""},
		{lineage.KeepRules{Models: []string{"fct_revenue"}}, "listed"},
		{lineage.KeepRules{Tags: []string{"marketing"}, Models: []string{"other"}}, ""},
	}
	for _, tt := range tests {
		why, ok := tt.rules.Keeps(n)
		if why != tt.why || ok != (tt.why != "") {
			t.Errorf("%+v keeps: %q, %v; want %q", tt.rules, why, ok, tt.why)
		}
	}
}

// versionedManifest is a small project with a versioned model: products
// v1 (products_v1.sql) and v2 (products.sql, the latest), both declared in
// models/products.yml, plus an unversioned orders.
func versionedManifest(t *testing.T) *dbt.Manifest {
	t.Helper()
	node := func(name, file, version string) string {
		id := "model.pkg." + name
		v := "null"
		if version != "" {
			id += ".v" + version
			v = version
		}
		rel := name
		if version != "" {
			rel += "_v" + version
		}
		return fmt.Sprintf(`%q: {"resource_type": "model", "name": %q, "package_name": "pkg", "version": %s,
			"original_file_path": %q, "patch_path": "pkg://models/products.yml",
			"relation_name": "\"db\".\"main\".\"%s\"", "schema": "main", "database": "db", "alias": %q, "depends_on": {"nodes": []}}`,
			id, name, v, file, rel, rel)
	}
	src := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "project_name": "pkg"},
		"nodes": {` + node("products", "models/products_v1.sql", "1") + `,` + node("products", "models/products.sql", "2") + `,` +
		node("orders", "models/orders.sql", "") + `}, "sources": {}, "exposures": {}}`
	m, err := dbt.ReadManifest(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A versioned model is one unit for proposals: its versions are proposed
// together, when none is consumed, or not at all. Issue 14: v1 alone was
// proposed while a Mode report read v2, and the branch edited the whole
// products entry, disabling (or unversioning) v2.
func TestCandidatesVersionedModel(t *testing.T) {
	t.Parallel()
	m := versionedManifest(t)
	bi := func(sql string) *mode.Graph {
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		return &mode.Graph{
			Workspace: "acme",
			Reports:   []mode.Report{{Token: "r", Name: "Sales", CreatedAt: at, LastRunAt: at, RunsCount: 9}},
			Queries:   map[string][]mode.Query{"r": {{Token: "q", ReportToken: "r", RawQuery: sql}}},
		}
	}
	run := func(b *mode.Graph, o ...lineage.CandidateOptions) lineage.Result {
		links := lineage.LinkQueries(sqlref.NewIndex(lineage.Relations(m)), b)
		return lineage.Analyze(lineage.Build(m, b, links), m, append(o, lineage.CandidateOptions{})[0])
	}

	// v2 read by the report (no ref() anywhere): no version is proposed,
	// and the analysis says why.
	res := run(bi("select * from main.products_v2"))
	if got := ids(res.Models); !reflect.DeepEqual(got, []string{"model.pkg.orders"}) {
		t.Errorf("candidates with v2 consumed = %v, want orders only", got)
	}
	if got := ids(res.Held); !reflect.DeepEqual(got, []string{"model.pkg.products.v1"}) {
		t.Fatalf("held = %v, want products v1", got)
	}
	if want := "products v1 unused but v2 is consumed: versions are proposed together"; res.Held[0].Reason != want {
		t.Errorf("held reason = %q, want %q", res.Held[0].Reason, want)
	}

	// Both unused: both proposed.
	res = run(bi("select * from main.orders"))
	if got := ids(res.Models); !reflect.DeepEqual(got, []string{"model.pkg.products.v1", "model.pkg.products.v2"}) {
		t.Errorf("candidates with both versions unused = %v", got)
	}
	if len(res.Held) != 0 {
		t.Errorf("held = %v", ids(res.Held))
	}

	// A keep rule on one version holds the other back too.
	res = run(bi("select * from main.orders"), lineage.CandidateOptions{Keep: lineage.KeepRules{Models: []string{"model.pkg.products.v1"}}})
	if got := ids(res.Models); len(got) != 0 {
		t.Errorf("candidates with v1 kept = %v", got)
	}
	if len(res.Held) != 1 || res.Held[0].Reason != "products v2 unused but v1 is consumed: versions are proposed together" {
		t.Errorf("held with v1 kept = %+v", res.Held)
	}
}
