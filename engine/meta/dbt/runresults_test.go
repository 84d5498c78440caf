package dbt_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
)

func readRunResults(t *testing.T, path string) *dbt.RunResults {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := dbt.ReadRunResults(f)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestReadRunResultsFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir, command, day string
		results, models   int
	}{
		{"dbtcore_results__v6", "run", "2024-09-24", 2, 2},
		{"jaffle_shop__v11__dbt1.7.0__bigquery", "build", "2023-11-06", 58, 35},
		// `dbt docs generate` compiles models without running them.
		{"jaffle_shop__v12__dbt1.12.0__duckdb", "generate", "", 46, 0},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			t.Parallel()
			rr := readRunResults(t, fixtures.Real(t, "dbt", tt.dir, "run_results.json"))
			if rr.Command != tt.command || len(rr.Results) != tt.results {
				t.Errorf("command, results = %q, %d", rr.Command, len(rr.Results))
			}
			h := dbt.NewHistory()
			h.Add(rr)
			var want []dbt.DayCount
			if tt.models > 0 {
				want = []dbt.DayCount{{Day: tt.day, Count: tt.models}}
			}
			if got := h.ModelsPerDay(); len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
				t.Errorf("models per day = %v, want %v", got, want)
			}
		})
	}
}

func TestRunResultsRuntime(t *testing.T) {
	t.Parallel()
	rr := readRunResults(t, fixtures.Real(t, "dbt", "jaffle_shop__v11__dbt1.7.0__bigquery", "run_results.json"))
	var r dbt.Result
	for _, x := range rr.Results {
		if x.UniqueID == "model.jaffle_shop.stg_customers" {
			r = x
		}
	}
	if r.Status != "success" || r.ExecutionTime <= 0 {
		t.Fatalf("stg_customers result = %+v", r)
	}
	h := dbt.NewHistory()
	h.Add(rr)
	h.Add(rr)
	rt := h.Runtimes["model.jaffle_shop.stg_customers"]
	if rt.Runs != 2 || rt.Total != 2*r.ExecutionTime || rt.Mean() != r.ExecutionTime || rt.LastStatus != "success" {
		t.Errorf("runtime = %+v", rt)
	}
	if _, ok := h.Runtimes["seed.jaffle_shop.raw_customers"]; ok {
		t.Error("seeds counted as models")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runResultsDoc(at, which string, results ...string) string {
	return `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","generated_at":"` + at +
		`"},"args":{"which":"` + which + `"},"results":[` + strings.Join(results, ",") + `]}`
}

func result(id, status string, secs string) string {
	return `{"unique_id":"` + id + `","status":"` + status + `","execution_time":` + secs + `}`
}

func TestReadRunResultsDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fixture, err := os.ReadFile(fixtures.Real(t, "dbt", "dbtcore_results__v6", "run_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "2024", "09", "run_results.json"), string(fixture))
	writeFile(t, filepath.Join(dir, "a.json"), runResultsDoc("2024-09-24T23:59:59Z", "build",
		result("model.test.metricflow_time_spine", "success", "1.5"), // already counted that day
		result("model.test.other", "error", "2"),
		result("model.test.skipped", "skipped", "0"),
		result("test.test.t", "pass", "1")))
	writeFile(t, filepath.Join(dir, "b.json"), runResultsDoc("2024-09-25T00:00:01+00:00", "run",
		result("model.test.other", "success", "4")))
	writeFile(t, filepath.Join(dir, "c.json"), runResultsDoc("2024-09-26T10:00:00Z", "compile",
		result("model.test.other", "success", "0")))
	writeFile(t, filepath.Join(dir, "manifest.json"), `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"}}`)
	writeFile(t, filepath.Join(dir, "notes.txt"), "not json")

	h, err := dbt.ReadRunResultsDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []dbt.DayCount{{Day: "2024-09-24", Count: 3}, {Day: "2024-09-25", Count: 1}}
	if got := h.ModelsPerDay(); !reflect.DeepEqual(got, want) {
		t.Errorf("models per day = %v, want %v", got, want)
	}
	if len(h.Files) != 4 || len(h.Skipped) != 1 || filepath.Base(h.Skipped[0]) != "manifest.json" {
		t.Errorf("files = %v, skipped = %v", h.Files, h.Skipped)
	}
	other := h.Runtimes["model.test.other"]
	if other.Runs != 2 || other.Total != 6*time.Second || other.LastStatus != "success" || other.Last != 4*time.Second {
		t.Errorf("runtime of other = %+v", other)
	}
}

func TestReadRunResultsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "old.json"), `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v2.json","generated_at":"2020-01-01T00:00:00Z"},"results":[]}`)
	if _, err := dbt.ReadRunResultsDir(dir); !errors.Is(err, dbt.ErrUnsupportedVersion) || !strings.Contains(err.Error(), "old.json") {
		t.Errorf("old version: err = %v", err)
	}
	writeFile(t, filepath.Join(dir, "old.json"), `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json","generated_at":"yesterday"}}`)
	if _, err := dbt.ReadRunResultsDir(dir); err == nil || !strings.Contains(err.Error(), "generated_at") {
		t.Errorf("bad time: err = %v", err)
	}
	if _, err := dbt.ReadRunResultsDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing folder accepted")
	}
}
