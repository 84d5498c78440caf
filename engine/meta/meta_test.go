package meta_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

var now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// staticBI is a BI source serving a fixed graph, failing the first `fail`
// reads.
type staticBI struct {
	mu   sync.Mutex
	g    *mode.Graph
	fail int
}

func (s *staticBI) Graph(context.Context) (*mode.Graph, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return nil, errors.New("mode is down")
	}
	return s.g, nil
}

// jaffleBI: over the jaffle_shop v12 (DuckDB) manifest, a live report that
// reads customers and locations, a report last run in 2024 (stale) that
// reads products, and an archived one.
func jaffleBI() *mode.Graph {
	created := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	return &mode.Graph{
		Workspace: "acme",
		Spaces:    []mode.Space{{Token: "sp", Name: "Finance"}},
		Reports: []mode.Report{
			{Token: "r_arch", Name: "Archived", Archived: true, CreatedAt: created},
			{Token: "r_live", Name: "Revenue", CreatedAt: created, LastRunAt: now.AddDate(0, 0, -2), RunsCount: 90, ViewCount: 400,
				URL: "https://app.mode.com/acme/reports/r_live", Creator: "ana"},
			{Token: "r_old", Name: "Old products", CreatedAt: created, LastRunAt: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), RunsCount: 40, ViewCount: 40},
		},
		Queries: map[string][]mode.Query{
			"r_live": {
				{Token: "q1", ReportToken: "r_live", RawQuery: `select * from "jaffle_shop"."main"."customers" -- from supplies`},
				{Token: "q2", ReportToken: "r_live", RawQuery: "select * from main.locations l join raw_lookup on true"},
			},
			"r_old": {{Token: "q3", ReportToken: "r_old", RawQuery: "select * from products"}},
		},
	}
}

// jaffleInputs analyse jaffle_shop without its semantic layer, so that the
// BI reports decide (TestAnalyzeSemanticLayer keeps it).
func jaffleInputs(t *testing.T, bi meta.BISource) meta.Inputs {
	path := fixtures.Manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb")
	m, err := dbt.ReadManifestFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return meta.Inputs{
		ManifestPath:  path,
		Manifest:      fixtures.WithoutSemanticLayer(m),
		RunResultsDir: fixtures.Real(t, "dbt", "jaffle_shop__v11__dbt1.7.0__bigquery"),
		BI:            bi,
		Now:           func() time.Time { return now },
	}
}

func TestAnalyzeWithBI(t *testing.T) {
	t.Parallel()
	r, err := meta.Analyze(context.Background(), jaffleInputs(t, &staticBI{g: jaffleBI()}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Candidates {
		got = append(got, c.UniqueID+": "+c.Reason)
	}
	want := []string{
		"model.jaffle_shop.metricflow_time_spine: " + lineage.ReasonNoConsumer,
		`model.jaffle_shop.products: only consumer is stale report "Old products" (r_old)`,
		"model.jaffle_shop.supplies: " + lineage.ReasonNoConsumer,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("candidates =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(r.Stale) != 1 || r.Stale[0].Token != "r_old" || r.Stale[0].Reason != "not run for 486 days (last run 2024-02-01)" {
		t.Errorf("stale = %+v", r.Stale)
	}
	if r.BI == nil || r.BI.Queries != 3 || r.BI.LinkedQueries != 3 || r.BI.ArchivedReports != 1 ||
		!reflect.DeepEqual(r.BI.Unmatched, []meta.UnmatchedRef{{Report: "r_live", Query: "q2", Ref: "raw_lookup"}}) {
		t.Errorf("bi = %+v", r.BI)
	}
	// The run history is the v11 build: 35 models that day.
	if len(r.ModelsPerDay) != 1 || r.ModelsPerDay[0].Count != 35 || r.Runtimes["model.jaffle_shop.customers"].Runs != 1 {
		t.Errorf("models per day = %v", r.ModelsPerDay)
	}
	if len(r.Centrality) != 13 {
		t.Errorf("centrality for %d models", len(r.Centrality))
	}
	y := string(r.Exposures.YAML)
	if !strings.Contains(y, "name: mode_revenue_r_live") || !strings.Contains(y, "ref('customers')") ||
		!strings.Contains(y, "ref('locations')") || strings.Contains(y, "products") || r.Exposures.Path != "models/exposures/mode_exposures.yml" ||
		!reflect.DeepEqual(r.Exposures.Reports, []string{"r_live"}) {
		t.Errorf("exposures %s:\n%s", r.Exposures.Path, y)
	}
	if e := r.Exposures.Entries; len(e) != 1 || e[0].Meta.ModeReportToken != "r_live" || e[0].Owner.Name != "ana" ||
		!reflect.DeepEqual(e[0].DependsOn, []string{"ref('customers')", "ref('locations')"}) {
		t.Errorf("exposure entries = %+v", e)
	}
	for _, c := range r.Candidates {
		if c.Importance <= 0 || c.Importance > 1 {
			t.Errorf("candidate %s importance %v", c.UniqueID, c.Importance)
		}
	}
	s := r.Snapshot()
	if s.Candidates != 3 || s.StaleReports != 1 || len(s.Centrality) != 13 || s.Centrality[0].ID != r.Centrality[0].ID ||
		s.Centrality[0].Importance != r.Centrality[0].Importance || len(s.ModelsPerDay) != 1 || !s.At.Equal(now) {
		t.Errorf("snapshot = %+v", s)
	}
}

// The real jaffle_shop v12 manifests, semantic layer included: nothing
// feeding a semantic model, metric, saved query or the time spine is
// proposed, though the only report reading products is stale.
func TestAnalyzeSemanticLayer(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"jaffle_shop__v12__dbt1.12.0__duckdb", "jaffle_shop__v12__dbt1.10.13__duckdb"} {
		in := jaffleInputs(t, &staticBI{g: jaffleBI()})
		in.Manifest, in.ManifestPath = nil, fixtures.Manifest(t, name)
		r, err := meta.Analyze(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Candidates) != 0 || len(r.UnusedSources) != 0 {
			t.Errorf("%s: candidates %+v, unused sources %+v", name, r.Candidates, r.UnusedSources)
		}
		if r.Evidence.Semantic < 6 || r.Evidence.TimeSpine != 1 || !r.Evidence.BI {
			t.Errorf("%s: evidence %+v", name, r.Evidence)
		}
		if len(r.Stale) != 1 {
			t.Errorf("%s: the stale report is still reported: %+v", name, r.Stale)
		}
	}
}

// The JSON carries exactly the fields issue 7 names, on every fixture, and
// its centrality equals networkx's (testdata/meta/centrality_vectors.json).
func TestAnalyzeJSONAllManifests(t *testing.T) {
	t.Parallel()
	vectors := loadVectors(t)
	for _, name := range fixtures.Manifests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, err := meta.Analyze(context.Background(), meta.Inputs{ManifestPath: fixtures.Manifest(t, name), Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Centrality   map[string]map[string]float64 `json:"centrality"`
				Candidates   []map[string]any              `json:"candidates"`
				StaleReports []map[string]any              `json:"stale_reports"`
				ModelsPerDay map[string]int                `json:"models_per_day"`
				BI           any                           `json:"bi"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Centrality) != r.Manifest.Models || doc.StaleReports == nil || doc.ModelsPerDay == nil || doc.BI != nil {
				t.Errorf("json: %d centrality entries for %d models; stale %v; per day %v; bi %v",
					len(doc.Centrality), r.Manifest.Models, doc.StaleReports, doc.ModelsPerDay, doc.BI)
			}
			wantKeys := []string{"betweenness", "closeness", "degree", "importance", "in_degree", "out_degree", "pagerank"}
			vec := vectors[name]
			for id, m := range doc.Centrality {
				if got := keys(m); !reflect.DeepEqual(got, wantKeys) {
					t.Fatalf("centrality keys %v", got)
				}
				i := vec.index[id]
				for k, want := range map[string]float64{
					"degree": vec.Degree[i], "in_degree": vec.InDegree[i], "out_degree": vec.OutDegree[i],
					"closeness": vec.Closeness[i], "betweenness": vec.Betweenness[i], "pagerank": vec.PageRank[i],
				} {
					if math.Abs(m[k]-want) > 1e-9 {
						t.Errorf("%s %s = %v, networkx %v", id, k, m[k], want)
					}
				}
			}
			for _, c := range doc.Candidates {
				if got := keys(c); !reflect.DeepEqual(got, []string{"files", "reason", "unique_id"}) {
					t.Errorf("candidate keys %v", got)
				}
			}
			if len(doc.Candidates) != len(r.Candidates) {
				t.Errorf("json candidates %d, report %d", len(doc.Candidates), len(r.Candidates))
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type vector struct {
	Nodes                                                         []string
	Degree, InDegree, OutDegree, Closeness, Betweenness, PageRank []float64
	index                                                         map[string]int
}

func loadVectors(t *testing.T) map[string]*vector {
	data, err := os.ReadFile(fixtures.Testdata(t, "centrality_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Manifest    string    `json:"manifest"`
			Nodes       []string  `json:"nodes"`
			Degree      []float64 `json:"degree"`
			InDegree    []float64 `json:"in_degree"`
			OutDegree   []float64 `json:"out_degree"`
			Closeness   []float64 `json:"closeness"`
			Betweenness []float64 `json:"betweenness"`
			PageRank    []float64 `json:"pagerank"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]*vector{}
	for _, c := range doc.Cases {
		if c.Manifest == "" {
			continue
		}
		v := &vector{Nodes: c.Nodes, Degree: c.Degree, InDegree: c.InDegree, OutDegree: c.OutDegree,
			Closeness: c.Closeness, Betweenness: c.Betweenness, PageRank: c.PageRank, index: map[string]int{}}
		for i, id := range c.Nodes {
			v.index[id] = i
		}
		out[c.Manifest] = v
	}
	return out
}

// Steps may run one at a time, in any order, concurrently, as a runner
// schedules them; the result equals Analyze's.
func TestStepsInAnyOrder(t *testing.T) {
	t.Parallel()
	want, err := meta.Analyze(context.Background(), jaffleInputs(t, &staticBI{g: jaffleBI()}))
	if err != nil {
		t.Fatal(err)
	}
	p := meta.New(jaffleInputs(t, &staticBI{g: jaffleBI()}))
	steps := meta.Steps()
	var wg sync.WaitGroup
	errs := make(chan error, len(steps))
	for i := len(steps) - 1; i >= 0; i-- {
		wg.Add(1)
		go func(kind string) {
			defer wg.Done()
			errs <- p.RunStep(context.Background(), kind)
		}(steps[i].Kind())
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := json.Marshal(p.State().Report)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("step-by-step report differs:\n%s\n%s", got, wantJSON)
	}
}

func TestFailedStepRetries(t *testing.T) {
	t.Parallel()
	bi := &staticBI{g: jaffleBI(), fail: 1}
	p := meta.New(jaffleInputs(t, bi))
	err := p.RunStep(context.Background(), meta.StepCandidates)
	if err == nil || !strings.Contains(err.Error(), "metapipeline step read_bi: reading the BI graph: mode is down") {
		t.Fatalf("err = %v", err)
	}
	if !p.Done(meta.StepReadDBT) || p.Done(meta.StepReadBI) {
		t.Errorf("read_dbt done %v, read_bi done %v", p.Done(meta.StepReadDBT), p.Done(meta.StepReadBI))
	}
	if err := p.RunStep(context.Background(), "sluice.meta.candidates"); err != nil {
		t.Fatal(err)
	}
	if len(p.State().Candidates) != 3 {
		t.Errorf("candidates = %+v", p.State().Candidates)
	}
	if err := p.RunStep(context.Background(), "nope"); err == nil {
		t.Error("unknown step accepted")
	}
}

func TestAnalyzeErrors(t *testing.T) {
	t.Parallel()
	if _, err := meta.Analyze(context.Background(), meta.Inputs{}); err == nil {
		t.Error("no manifest accepted")
	}
	if _, err := meta.Analyze(context.Background(), meta.Inputs{ManifestPath: "/nonexistent/manifest.json"}); err == nil {
		t.Error("missing manifest accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := meta.Analyze(ctx, jaffleInputs(t, &staticBI{g: jaffleBI()})); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// End to end through the real Mode client: the real API responses served
// over HTTP, credentials from the environment, on the jaffle manifest.
func TestConfigInputsWithMode(t *testing.T) {
	t.Parallel()
	read := func(name string) []byte {
		data, err := os.ReadFile(fixtures.Real(t, "mode", "datahub_integration_setup", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "tok" || p != "sec" {
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
			w.Write(read("reports_75737b70402e.json")) // Report 1, with queries.json
		case "/api/acryl/reports/9d2da37fa91e/queries":
			w.Write(read("queries.json"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := meta.Config{
		Manifest:      fixtures.Manifest(t, "dbtcore_state__v12"),
		ModeURL:       srv.URL + "/api",
		ModeWorkspace: "acryl",
	}
	in, err := cfg.Inputs(nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := mode.New(cfg.ModeConfig("tok", "sec", nil))
	if err != nil {
		t.Fatal(err)
	}
	in.BI = client
	in.Now = func() time.Time { return now }
	r, err := meta.Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if r.BI == nil || r.BI.Reports != 1 || r.BI.Queries != 1 || r.BI.DefinitionQueries != 1 ||
		!reflect.DeepEqual(r.BI.Unmatched, []meta.UnmatchedRef{{Report: "9d2da37fa91e", Query: "6e26a9f3d4e2", Ref: "staff"}}) {
		t.Errorf("bi = %+v", r.BI)
	}
	if len(r.Stale) != 1 || r.Stale[0].Name != "Report 1" || !strings.HasPrefix(r.Stale[0].Reason, "not run for 1268 days") {
		t.Errorf("stale = %+v", r.Stale)
	}

	if _, err := mode.New((meta.Config{Manifest: "m.json", ModeWorkspace: "w"}).ModeConfig("", "", nil)); err == nil ||
		!strings.Contains(err.Error(), "MODE_TOKEN") {
		t.Errorf("missing credentials: %v", err)
	}
}

func TestConfigMergeAndRules(t *testing.T) {
	t.Parallel()
	base := meta.Config{Manifest: "a.json", StaleAfterDays: 30}
	c, err := base.Merge(json.RawMessage(`{"manifest":"b.json","low_usage_runs":2,"keep":{"tags":["keep"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules()
	if c.Manifest != "b.json" || r.NotRunFor != 30*24*time.Hour || r.MinRuns != 2 || r.MinViews != 5 || c.Keep.Tags[0] != "keep" {
		t.Errorf("merged = %+v, rules %+v", c, r)
	}
	if _, err := base.Merge(json.RawMessage(`{"manifest":7}`)); err == nil {
		t.Error("bad run config accepted")
	}
}

func TestDAGValidates(t *testing.T) {
	t.Parallel()
	d := meta.DAG("0 6 * * *")
	if err := dag.Validate(d); err != nil {
		t.Fatal(err)
	}
	order := d.TopoOrder()
	pos := map[string]int{}
	for i, id := range order {
		pos[id] = i
	}
	types := map[string]string{}
	for _, n := range d.Nodes {
		types[n.ID] = n.Type
	}
	for _, s := range meta.Steps() {
		if types[s.Name] != "sluice.meta."+s.Name {
			t.Errorf("node %s has kind %q", s.Name, types[s.Name])
		}
		for _, need := range s.Needs {
			if pos[need] > pos[s.Name] {
				t.Errorf("%s runs before %s", s.Name, need)
			}
		}
	}
	if len(order) != len(meta.Steps()) || order[len(order)-1] != meta.StepReport {
		t.Errorf("order = %v", order)
	}
}

// Runs shares one pipeline between a run's tasks and hands the report over
// once, when the report step is done.
func TestRuns(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reports := map[int64]*meta.Report{}
	builds := 0
	runs := meta.NewRuns(func(ctx context.Context, cfg json.RawMessage) (meta.Inputs, error) {
		mu.Lock()
		builds++
		mu.Unlock()
		c, err := meta.Config{Manifest: fixtures.Manifest(t, "dbtcore_state__v12")}.Merge(cfg)
		if err != nil {
			return meta.Inputs{}, err
		}
		return c.Inputs(nil)
	}, func(run int64, r *meta.Report) {
		mu.Lock()
		reports[run] = r
		mu.Unlock()
	})
	ctx := context.Background()
	for _, s := range meta.Steps() {
		if err := runs.RunTask(ctx, 7, s.Kind(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if builds != 1 || reports[7] == nil || reports[7].Manifest.Project != "test" {
		t.Errorf("builds = %d, report = %+v", builds, reports[7])
	}
	if err := runs.RunTask(ctx, 8, "sluice.meta.read_dbt", json.RawMessage(`{"manifest":"/nonexistent.json"}`)); err == nil {
		t.Error("bad manifest accepted")
	}
	if err := runs.RunTask(ctx, 9, "sluice.meta.read_dbt", json.RawMessage(`{"manifest":5}`)); err == nil {
		t.Error("bad run config accepted")
	}
	runs.Forget(8)
}

// No evidence, no proposal: a project with no BI workspace, no exposure
// and no semantic object would look wholly unused; the analysis proposes
// nothing and says why. Any one consumer kind is enough evidence.
func TestAnalyzeWithoutConsumerEvidence(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"jaffle_shop__v11__dbt1.7.0__bigquery", "jaffle_shop__v10__dbt1.6.0__bigquery"} {
		r, err := meta.Analyze(context.Background(), meta.Inputs{ManifestPath: fixtures.Manifest(t, name), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Candidates) != 0 || len(r.UnusedSources) != 0 || r.Notice != meta.NoEvidence || r.Evidence.Any() {
			t.Errorf("%s: candidates %d, sources %d, notice %q, evidence %+v", name, len(r.Candidates), len(r.UnusedSources), r.Notice, r.Evidence)
		}
		if s := r.Snapshot(); s.Notice != meta.NoEvidence || s.Candidates != 0 {
			t.Errorf("%s: snapshot %+v", name, s)
		}
		data, _ := json.Marshal(r)
		if !strings.Contains(string(data), `"notice":"no consumers known: connect Mode or declare exposures before clean-ups are proposed"`) {
			t.Errorf("%s: json lacks the notice: %s", name, data)
		}
	}
	// The same project with a BI workspace has evidence (and candidates).
	r, err := meta.Analyze(context.Background(), jaffleInputs(t, &staticBI{g: jaffleBI()}))
	if err != nil {
		t.Fatal(err)
	}
	if r.Notice != "" || len(r.Candidates) == 0 {
		t.Errorf("with Mode: notice %q, %d candidates", r.Notice, len(r.Candidates))
	}
}
