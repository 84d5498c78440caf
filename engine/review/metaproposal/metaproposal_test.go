package metaproposal

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/store"
)

var now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// manifestPath is the real jaffle_shop manifest (dbt 1.12, DuckDB) in the
// repository's testdata/fixtures.
func manifestPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../../testdata/fixtures/dbt/jaffle_shop__v12__dbt1.12.0__duckdb/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return p
}

// jaffleManifest is the real manifest without its semantic layer (which
// consumes every mart: nothing would be unused), with one exposure reading
// the exposed models when any is given.
func jaffleManifest(t *testing.T, exposed ...string) *dbt.Manifest {
	t.Helper()
	m, err := dbt.ReadManifestFile(manifestPath(t))
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range m.Nodes {
		if n.ResourceType == dbt.SemanticModel || n.ResourceType == dbt.Metric || n.ResourceType == dbt.SavedQuery {
			delete(m.Nodes, id)
			delete(m.ParentMap, id)
		}
	}
	if len(exposed) > 0 {
		const id = "exposure.jaffle_shop.weekly"
		m.Nodes[id] = &dbt.Node{UniqueID: id, ResourceType: dbt.Exposure, Name: "weekly", Package: "jaffle_shop", OriginalFilePath: "models/dashboards.yml"}
		for _, name := range exposed {
			m.ParentMap[id] = append(m.ParentMap[id], "model.jaffle_shop."+name)
		}
	}
	return m
}

type staticBI struct{ g *mode.Graph }

func (s staticBI) Graph(context.Context) (*mode.Graph, error) { return s.g, nil }

// A live report reads customers; a stale one reads products.
func jaffleBI() *mode.Graph {
	created := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	return &mode.Graph{
		Workspace: "acme",
		Spaces:    []mode.Space{{Token: "sp", Name: "Finance"}},
		Reports: []mode.Report{
			{Token: "r_live", Name: "Revenue", CreatedAt: created, LastRunAt: now.AddDate(0, 0, -2), RunsCount: 90, ViewCount: 400,
				URL: "https://app.mode.com/acme/reports/r_live", Creator: "ana"},
			{Token: "r_old", Name: "Old products", CreatedAt: created, LastRunAt: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), RunsCount: 40, ViewCount: 40},
		},
		Queries: map[string][]mode.Query{
			"r_live": {{Token: "q1", ReportToken: "r_live", RawQuery: `select * from "jaffle_shop"."main"."customers"`}},
			"r_old":  {{Token: "q3", ReportToken: "r_old", RawQuery: "select * from products"}},
		},
	}
}

func TestFromReportWithoutBI(t *testing.T) {
	t.Parallel()
	r, err := meta.Analyze(context.Background(), meta.Inputs{Manifest: jaffleManifest(t, "customers", "orders"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	p := FromReport(r)
	if p.Deprecate == nil || p.Stale != nil || p.Exposures != nil {
		t.Fatalf("without BI: deprecate %v, stale %v, exposures %v", p.Deprecate != nil, p.Stale, p.Exposures)
	}
	if len(p.Deprecate) != len(r.Candidates) || len(p.Deprecate) == 0 {
		t.Fatalf("%d candidates from %d", len(p.Deprecate), len(r.Candidates))
	}
	for _, c := range p.Deprecate {
		for _, f := range c.Files {
			if strings.HasSuffix(f, ".yml") {
				t.Errorf("%s: the properties YAML %s would be deleted, not edited", c.Name, f)
			}
		}
		if !strings.HasPrefix(c.PatchPath, "jaffle_shop://") || len(c.Files) == 0 || c.Reason == "" {
			t.Errorf("candidate %+v", c)
		}
	}
}

// No evidence, no proposal: without Mode, exposures or a semantic layer
// the deprecation part is empty (it withdraws what was staged) and carries
// the project's model count for the cap.
func TestFromReportWithoutEvidence(t *testing.T) {
	t.Parallel()
	r, err := meta.Analyze(context.Background(), meta.Inputs{Manifest: jaffleManifest(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	p := FromReport(r)
	if r.Notice != meta.NoEvidence || p.Deprecate == nil || len(p.Deprecate) != 0 || p.Models != 13 {
		t.Errorf("notice %q, deprecate %v, models %d", r.Notice, p.Deprecate, p.Models)
	}
}

// End to end: the real manifest's analysis staged on a repository laid out
// as the manifest says.
func TestStageAnalysisOfRealManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := meta.Analyze(ctx, meta.Inputs{Manifest: jaffleManifest(t), BI: staticBI{jaffleBI()}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	p := FromReport(r)
	if len(p.Stale) != 1 || p.Stale[0].Token != "r_old" {
		t.Errorf("stale %+v", p.Stale)
	}
	if p.Exposures == nil || !strings.Contains(string(p.Exposures.Content), "customers") || len(p.Exposures.Subjects) != 1 {
		t.Fatalf("exposures %+v", p.Exposures)
	}
	if sub := p.Exposures.Subjects[0]; sub.ID != "r_live" || sub.Name != "Revenue" || !strings.Contains(sub.Reason, "customers") {
		t.Errorf("exposure subject %+v", sub)
	}

	// The dbt repository: every model's SQL and properties file; orders.yml
	// also declares a semantic model, so it must survive its model.
	var m struct {
		Nodes map[string]struct {
			ResourceType     string `json:"resource_type"`
			Name             string `json:"name"`
			OriginalFilePath string `json:"original_file_path"`
			PatchPath        string `json:"patch_path"`
		} `json:"nodes"`
	}
	data, _ := os.ReadFile(manifestPath(t))
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	user, remote := filepath.Join(root, "jaffle"), filepath.Join(root, "remote.git")
	for _, n := range m.Nodes {
		if n.ResourceType != "model" {
			continue
		}
		write(t, filepath.Join(user, n.OriginalFilePath), "select 1 -- "+n.Name+"\n")
		yml := "version: 2\n\nmodels:\n  - name: " + n.Name + "\n    description: The " + n.Name + " model.\n"
		if n.Name == "orders" {
			yml += "\nsemantic_models:\n  - name: orders # measures live here\n    model: ref('orders')\n"
		}
		write(t, filepath.Join(user, strings.TrimPrefix(n.PatchPath, "jaffle_shop://")), yml)
	}
	git(t, root, "init", "-q", "--bare", "-b", "main", remote)
	git(t, root, "init", "-q", "-b", "main", user)
	git(t, user, "add", "-A")
	git(t, user, "commit", "-q", "-m", "jaffle")
	git(t, user, "remote", "add", "origin", remote)
	git(t, user, "push", "-q", "origin", "main")

	state := t.TempDir()
	db, err := store.OpenDir(ctx, state, store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := review.New(review.Config{StateDir: state, Repo: user, MaxDeleteFraction: 1}, review.NewSQLStore(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := svc.Stage(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[review.Kind]*review.Item{}
	for _, it := range items {
		kinds[it.Kind] = it
	}
	dep, ex, arch := kinds[review.KindDeprecate], kinds[review.KindExposures], kinds[review.KindArchive]
	if dep == nil || ex == nil || arch == nil {
		t.Fatalf("staged %v", kinds)
	}
	if len(dep.Notes) != 0 || len(dep.Subjects) != len(p.Deprecate) {
		t.Errorf("deprecation: %d subjects of %d, notes %v", len(dep.Subjects), len(p.Deprecate), dep.Notes)
	}
	actions := map[string]string{}
	for _, f := range dep.Files {
		actions[f.Path] = f.Action
	}
	// Phase one disables each model in its properties YAML and leaves its
	// SQL where it is.
	for _, c := range p.Deprecate {
		yml := strings.TrimPrefix(c.PatchPath, "jaffle_shop://")
		if actions[c.Files[0]] != "" || actions[yml] != review.FileModified {
			t.Errorf("%s: %s %s, %s %s", c.Name, c.Files[0], actions[c.Files[0]], yml, actions[yml])
		}
	}
	if !strings.Contains(dep.Diff, "+    config:\n+      enabled: false") {
		t.Errorf("diff does not disable:\n%s", dep.Diff)
	}
	if len(ex.Files) != 1 || ex.Files[0].Path != "models/exposures/mode_exposures.yml" || ex.Files[0].Action != review.FileAdded {
		t.Errorf("exposures files %v", ex.Files)
	}
	if len(arch.Subjects) != 1 || arch.Subjects[0].Name != "Old products" {
		t.Errorf("archive subjects %+v", arch.Subjects)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@x",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
