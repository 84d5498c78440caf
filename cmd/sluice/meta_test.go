package main

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// metaRoot is the repository root: the nearest folder above with go.mod.
func metaRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// metaFixture returns a path below testdata/fixtures in the repository.
func metaFixture(t *testing.T, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{metaRoot(t), "testdata", "fixtures"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return p
}

func TestMetaAnalyzeText(t *testing.T) {
	t.Parallel()
	manifest := metaFixture(t, "dbt", "jaffle_shop__v11__dbt1.7.0__bigquery", "manifest.json")
	runs := metaFixture(t, "dbt", "jaffle_shop__v11__dbt1.7.0__bigquery")
	code, out, errOut := dagsRun(t, nil, "meta", "analyze", "--manifest", manifest, "--run-results", runs, "--top", "3")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"dbt: jaffle_shop (manifest v11, dbt 1.7.0, bigquery): 35 models (5 local), 3 seeds",
		"Mode: not configured; exposures and the semantic layer are the only consumers",
		"Stale reports (0):",
		// No Mode, no exposure, no semantic layer: no evidence, no proposal.
		"Deprecation candidates (0):\n  no consumers known: connect Mode or declare exposures before clean-ups are proposed\n",
		"Centrality (top 3 of 35 models by importance):",
		"IMPORTANCE  DEGREE      IN     OUT  CLOSENESS  BETWEENNESS  PAGERANK  MEAN RUN",
		"Models run per day (1 days):\n  2023-11-06    35 ████████████████████████████████████████",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if rows := strings.Count(out[strings.Index(out, "Centrality"):strings.Index(out, "Models run")], " model."); rows != 3 {
		t.Errorf("%d centrality rows, want 3", rows)
	}
}

// The JSON's centrality equals networkx's vectors for the manifest.
func TestMetaAnalyzeJSONMatchesNetworkx(t *testing.T) {
	t.Parallel()
	const name = "jaffle_shop__v12__dbt1.10.13__duckdb"
	code, out, errOut := dagsRun(t, nil, "meta", "analyze", "--json", "--manifest", metaFixture(t, "dbt", name, "manifest.json"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Centrality map[string]map[string]float64 `json:"centrality"`
		Candidates []struct {
			UniqueID, Reason string
			Files            []string
		} `json:"candidates"`
		StaleReports []any          `json:"stale_reports"`
		ModelsPerDay map[string]int `json:"models_per_day"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	vectors := readVectors(t)
	var c *networkxCase
	for i := range vectors {
		if vectors[i].Manifest == name {
			c = &vectors[i]
		}
	}
	// Every model feeds the semantic layer or is the time spine: none is
	// a candidate.
	if c == nil || len(doc.Centrality) != 13 || len(doc.Candidates) != 0 || doc.StaleReports == nil || doc.ModelsPerDay == nil {
		t.Fatalf("json: %d centrality, %d candidates", len(doc.Centrality), len(doc.Candidates))
	}
	for i, id := range c.Nodes {
		got, ok := doc.Centrality[id]
		if !ok {
			continue // sources are not reported
		}
		for k, want := range map[string]float64{"degree": c.Degree[i], "in_degree": c.InDegree[i], "out_degree": c.OutDegree[i],
			"closeness": c.Closeness[i], "betweenness": c.Betweenness[i], "pagerank": c.PageRank[i]} {
			if math.Abs(got[k]-want) > 1e-9 {
				t.Errorf("%s %s = %v, networkx %v", id, k, got[k], want)
			}
		}
	}
}

type networkxCase struct {
	Manifest                                                      string
	Nodes                                                         []string
	Degree, InDegree, OutDegree, Closeness, Betweenness, PageRank []float64
}

func readVectors(t *testing.T) []networkxCase {
	data, err := os.ReadFile(filepath.Join(metaRoot(t), "testdata", "meta", "centrality_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			networkxCase
			InDegree  []float64 `json:"in_degree"`
			OutDegree []float64 `json:"out_degree"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := make([]networkxCase, len(doc.Cases))
	for i, c := range doc.Cases {
		out[i] = c.networkxCase
		out[i].InDegree, out[i].OutDegree = c.InDegree, c.OutDegree
	}
	return out
}

func TestMetaAnalyzeWithMode(t *testing.T) {
	t.Parallel()
	read := func(name string) []byte {
		data, err := os.ReadFile(metaFixture(t, "mode", "datahub_integration_setup", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "tok-cli" || p != "secret-cli-77" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("page") != "1" {
			w.Write([]byte(`{"_embedded":{}}`))
			return
		}
		switch r.URL.Path {
		case "/api/acryl/spaces":
			w.Write(read("spaces.json"))
		case "/api/acryl/spaces/9026edbd5a3c/reports":
			w.Write(read("reports.json"))
		case "/api/acryl/reports/72f2ef8fb3a8/queries":
			w.Write([]byte(`{"_embedded":{"queries":[{"token":"q1","name":"orders","raw_query":"select * from main.orders o join {{ @def as d }} on true"}]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	manifest := jaffleWithoutSemanticLayer(t)
	exposuresFile := filepath.Join(t.TempDir(), "exposures.yml")
	env := map[string]string{"MODE_TOKEN": "tok-cli", "MODE_SECRET": "secret-cli-77"}
	args := []string{"meta", "analyze", "--manifest", manifest, "--mode-url", srv.URL + "/api", "--mode-workspace", "acryl"}

	code, out, errOut := dagsRun(t, env, append(args, "--exposures-out", exposuresFile, "-v")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The 2021 report last ran years ago: stale, so its query keeps nothing
	// alive and no exposure is written for it.
	for _, want := range []string{
		"Mode: workspace acryl: 1 spaces, 1 reports (0 archived), 1 queries (1 read dbt models), 0 unmatched references, 1 queries use Mode definitions",
		"Stale reports (1):\n  72f2ef8fb3a8  Actor Report  not run for ",
		`only consumer is stale report "Actor Report" (72f2ef8fb3a8)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "secret-cli-77") || strings.Contains(out+errOut, "tok-cli") {
		t.Error("credentials printed")
	}
	if data, err := os.ReadFile(exposuresFile); err != nil || !strings.Contains(string(data), "exposures: []") {
		t.Errorf("exposures file: %v\n%s", err, data)
	}

	code, out, _ = dagsRun(t, env, append(args, "--json", "--stale-days", "100000")...)
	var doc struct {
		StaleReports []map[string]string   `json:"stale_reports"`
		Candidates   []map[string]any      `json:"candidates"`
		Exposures    struct{ YAML string } `json:"exposures"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// With a huge threshold the report is live (8 runs and 49 views are
	// not low usage): it keeps orders alive and gets an exposure.
	if len(doc.StaleReports) != 0 || !strings.Contains(doc.Exposures.YAML, "ref('orders')") {
		t.Errorf("stale = %v, exposures:\n%s", doc.StaleReports, doc.Exposures.YAML)
	}
	for _, c := range doc.Candidates {
		if c["unique_id"] == "model.jaffle_shop.orders" || c["unique_id"] == "model.jaffle_shop.stg_orders" {
			t.Errorf("%v is a candidate while a live report reads orders", c["unique_id"])
		}
	}

	code, _, errOut = dagsRun(t, map[string]string{"MODE_TOKEN": "tok-cli", "MODE_SECRET": "wrong"}, args...)
	if code != exitFailed || !strings.Contains(errOut, "401") || strings.Contains(errOut, "wrong") {
		t.Errorf("bad credentials: exit %d: %s", code, errOut)
	}
}

func TestMetaAnalyzeUsage(t *testing.T) {
	t.Parallel()
	manifest := metaFixture(t, "dbt", "dbtcore_state__v12", "manifest.json")
	bad := filepath.Join(t.TempDir(), "v9.json")
	os.WriteFile(bad, []byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v9.json"}}`), 0o644)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"help", nil, []string{"--help"}, exitOK, "Usage: sluice meta analyze"},
		{"no manifest", nil, nil, exitUsage, "--manifest is required"},
		{"missing manifest", nil, []string{"--manifest", "/nonexistent/manifest.json"}, exitUsage, "no such file"},
		{"unsupported version", nil, []string{"--manifest", bad}, exitUsage, "manifest schema v9"},
		{"mode without credentials", nil, []string{"--manifest", manifest, "--mode-workspace", "w"}, exitUsage, "MODE_TOKEN"},
		{"url without workspace", nil, []string{"--manifest", manifest, "--mode-url", "http://x"}, exitUsage, "needs a Mode workspace"},
		{"exposures without mode", nil, []string{"--manifest", manifest, "--exposures-out", filepath.Join(t.TempDir(), "x")}, exitUsage, "needs Mode"},
		{"stray argument", nil, []string{"--manifest", manifest, "extra"}, exitUsage, "unexpected arguments"},
		{"bad flag", nil, []string{"--nope"}, exitUsage, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := dagsRun(t, tt.env, append([]string{"meta", "analyze"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

func TestMetaAnalyzeKeepRules(t *testing.T) {
	t.Parallel()
	manifest := metaFixture(t, "dbt", "jaffle_shop__v10__dbt1.6.0__bigquery", "manifest.json")
	code, out, errOut := dagsRun(t, nil, "meta", "analyze", "--json", "--manifest", manifest,
		"--keep-tag", "lightdash", "--keep-path", "models/staging/stg_pay*.sql")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Candidates []struct {
			UniqueID string `json:"unique_id"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// customers, orders and test_lightdash carry the tag; they keep every
	// staging model alive, stg_payments also by path: nothing is left.
	if len(doc.Candidates) != 0 {
		t.Errorf("candidates = %+v", doc.Candidates)
	}
}
