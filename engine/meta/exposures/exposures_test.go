package exposures_test

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/exposures"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite golden files")

func manifest(t *testing.T, name string) *dbt.Manifest {
	t.Helper()
	m, err := dbt.ReadManifestFile(fixtures.Manifest(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenerateGolden(t *testing.T) {
	t.Parallel()
	m := manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb")
	reports := []exposures.Report{
		{Token: "9d2da37fa91e", Name: "Revenue — weekly (EU)", URL: "https://app.mode.com/acme/reports/9d2da37fa91e",
			Creator: "ana", Description: "  Weekly revenue.\n",
			DependsOn: []string{"model.jaffle_shop.orders", "model.jaffle_shop.customers", "model.jaffle_shop.orders", "source.jaffle_shop.ecom.raw_stores", "seed.jaffle_shop.raw_items"}},
		{Token: "72f2ef8fb3a8", Name: "Actor Report", URL: "https://app.mode.com/acme/reports/72f2ef8fb3a8",
			DependsOn: []string{"model.jaffle_shop.products"}},
		{Token: "aaaa", Name: "Reads nothing of dbt"},
	}
	got, err := exposures.Generate(reports, m, exposures.Options{OwnerEmail: "data@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "jaffle_exposures.yml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("generated:\n%s\nwant:\n%s", got, want)
	}

	// What dbt reads back: version 2 and one exposure per report with deps.
	var doc struct {
		Version   int `yaml:"version"`
		Exposures []struct {
			Name      string   `yaml:"name"`
			Type      string   `yaml:"type"`
			DependsOn []string `yaml:"depends_on"`
			Owner     struct{ Name, Email string }
		} `yaml:"exposures"`
	}
	if err := yaml.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 2 || len(doc.Exposures) != 2 || doc.Exposures[0].Name != "mode_actor_report_72f2ef8fb3a8" ||
		doc.Exposures[0].Owner.Email != "data@example.com" || doc.Exposures[1].Type != "dashboard" {
		t.Errorf("parsed back: %+v", doc)
	}
	wantDeps := []string{"ref('customers')", "ref('orders')", "ref('raw_items')", "source('ecom', 'raw_stores')"}
	if !reflect.DeepEqual(doc.Exposures[1].DependsOn, wantDeps) {
		t.Errorf("depends_on = %v, want %v", doc.Exposures[1].DependsOn, wantDeps)
	}
}

func TestPackageAndVersionedRefs(t *testing.T) {
	t.Parallel()
	m := manifest(t, "jaffle_shop__v11__dbt1.7.0__bigquery")
	var pkgModel string
	for _, id := range m.IDs(dbt.Model) {
		if !m.IsLocal(m.Nodes[id]) {
			pkgModel = id
			break
		}
	}
	m.Nodes["model.jaffle_shop.customers"].Version = "2"
	exps, err := exposures.Build([]exposures.Report{{Token: "t", Name: "R", DependsOn: []string{pkgModel, "model.jaffle_shop.customers"}}}, m, exposures.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := m.Nodes[pkgModel]
	want := []string{"ref('customers', v='2')", "ref('" + n.Package + "', '" + n.Name + "')"}
	if len(exps) != 1 || !reflect.DeepEqual(exps[0].DependsOn, want) || exps[0].Owner.Name != "Mode" {
		t.Errorf("exposure = %+v, want deps %v", exps, want)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	m := manifest(t, "dbtcore_state__v12")
	if _, err := exposures.Build([]exposures.Report{{Token: "t", DependsOn: []string{"model.test.nope"}}}, m, exposures.Options{}); err == nil {
		t.Error("unknown node accepted")
	}
	dup := []exposures.Report{
		{Token: "x", Name: "Same", DependsOn: []string{"model.test.my_model"}},
		{Token: "x", Name: "same", DependsOn: []string{"model.test.my_model"}},
	}
	if _, err := exposures.Build(dup, m, exposures.Options{}); err == nil || !strings.Contains(err.Error(), "both map") {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	tests := map[[2]string]string{
		{"Actor Report", "72f2ef8fb3a8"}:    "mode_actor_report_72f2ef8fb3a8",
		{"  Revenue — weekly (EU)!", "ABC"}: "mode_revenue_weekly_eu_abc",
		{"", "t1"}:                          "mode_t1",
		{"2024 KPIs", "t-2"}:                "mode_2024_kpis_t2",
		{"Ünïcode Ünïcode", "x"}:            "mode_n_code_n_code_x",
	}
	for in, want := range tests {
		if got := exposures.Name(in[0], in[1]); got != want {
			t.Errorf("Name(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}
