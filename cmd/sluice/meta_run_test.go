package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// metaRunManifest is the real jaffle_shop manifest (dbt 1.12, DuckDB).
func metaRunManifest(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../testdata/fixtures/dbt/jaffle_shop__v12__dbt1.12.0__duckdb/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return p
}

func TestMetaRunStagesAndRerunUpdates(t *testing.T) {
	t.Parallel()
	// The exposure leaves the time spine and supplies unused: 2 of 13.
	manifest := jaffleWithoutSemanticLayer(t, "customers", "orders", "order_items", "locations", "products")
	var m struct {
		Nodes map[string]struct {
			ResourceType     string `json:"resource_type"`
			Name             string `json:"name"`
			OriginalFilePath string `json:"original_file_path"`
			PatchPath        string `json:"patch_path"`
		} `json:"nodes"`
	}
	data, _ := os.ReadFile(manifest)
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	user, remote := filepath.Join(root, "jaffle"), filepath.Join(root, "remote.git")
	for _, n := range m.Nodes {
		if n.ResourceType == "model" {
			dagsWrite(t, user, n.OriginalFilePath, "select 1\n")
			dagsWrite(t, user, strings.TrimPrefix(n.PatchPath, "jaffle_shop://"), "version: 2\nmodels:\n  - name: "+n.Name+"\n")
		}
	}
	reviewGit(t, root, "init", "-q", "--bare", "-b", "main", remote)
	reviewGit(t, root, "init", "-q", "-b", "main", user)
	reviewGit(t, user, "add", "-A")
	reviewGit(t, user, "commit", "-q", "-m", "jaffle")
	reviewGit(t, user, "remote", "add", "origin", remote)
	reviewGit(t, user, "push", "-q", "origin", "main")
	head := reviewGit(t, user, "rev-parse", "HEAD")

	state := filepath.Join(root, "state")
	args := []string{"meta", "run", "--repo", user, "--manifest", manifest, "--state-dir", state, "--json"}
	code, out, errOut := dagsRun(t, nil, args...)
	if code != exitOK {
		t.Fatalf("meta run: %d\n%s\n%s", code, out, errOut)
	}
	var first struct {
		Candidates int          `json:"candidates"`
		Reviews    []reviewJSON `json:"reviews"`
	}
	if err := json.Unmarshal([]byte(out), &first); err != nil {
		t.Fatal(err)
	}
	if first.Candidates == 0 || len(first.Reviews) != 1 || first.Reviews[0].Kind != "deprecate" || len(first.Reviews[0].Models) != first.Candidates {
		t.Fatalf("first run: %+v", first)
	}

	code, out, _ = dagsRun(t, nil, args...)
	var second struct {
		Reviews []reviewJSON `json:"reviews"`
	}
	json.Unmarshal([]byte(out), &second)
	if code != exitOK || len(second.Reviews) != 1 || second.Reviews[0].ID != first.Reviews[0].ID {
		t.Fatalf("re-run: %d %+v", code, second)
	}
	code, out, _ = dagsRun(t, map[string]string{"SLUICE_STATE_DIR": state}, "review", "list", "--json")
	var list []reviewJSON
	json.Unmarshal([]byte(out), &list)
	if code != exitOK || len(list) != 1 {
		t.Errorf("review list after two runs: %d items", len(list))
	}
	if reviewGit(t, user, "rev-parse", "HEAD") != head || reviewGit(t, user, "status", "--porcelain") != "" {
		t.Error("meta run touched the checkout")
	}

	if code, _, errOut := dagsRun(t, nil, "meta", "run", "--manifest", manifest); code != exitUsage || !strings.Contains(errOut, "--repo") {
		t.Errorf("without --repo: %d %s", code, errOut)
	}
}

// jaffleWithoutSemanticLayer writes the real jaffle_shop v12 manifest
// without its semantic models, metrics and saved queries (which consume
// every mart, so nothing is unused), plus one exposure reading exposed:
// a project whose consumers are its exposures and BI queries.
// Without any consumer evidence nothing is staged and the run says why.
func TestMetaRunWithoutEvidenceStagesNothing(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	user, remote := filepath.Join(root, "jaffle"), filepath.Join(root, "remote.git")
	dagsWrite(t, user, "models/a.sql", "select 1\n")
	reviewGit(t, root, "init", "-q", "--bare", "-b", "main", remote)
	reviewGit(t, root, "init", "-q", "-b", "main", user)
	reviewGit(t, user, "add", "-A")
	reviewGit(t, user, "commit", "-q", "-m", "jaffle")
	reviewGit(t, user, "remote", "add", "origin", remote)
	code, out, errOut := dagsRun(t, nil, "meta", "run", "--repo", user, "--manifest", jaffleWithoutSemanticLayer(t), "--state-dir", filepath.Join(root, "state"))
	if code != exitOK || !strings.Contains(out, "Nothing proposed for deletion: no consumers known: connect Mode or declare exposures before clean-ups are proposed.") ||
		!strings.Contains(out, "Nothing to review.") {
		t.Fatalf("meta run: %d\n%s\n%s", code, out, errOut)
	}
}

func jaffleWithoutSemanticLayer(t *testing.T, exposed ...string) string {
	t.Helper()
	data, err := os.ReadFile(metaRunManifest(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"semantic_models", "metrics", "saved_queries"} {
		doc[k] = map[string]any{}
	}
	const exposure = "exposure.jaffle_shop.weekly_dashboard"
	parents := doc["parent_map"].(map[string]any)
	if len(exposed) > 0 {
		var deps []any
		for _, name := range exposed {
			deps = append(deps, "model.jaffle_shop."+name)
		}
		doc["exposures"] = map[string]any{exposure: map[string]any{
			"resource_type": "exposure", "name": "weekly_dashboard", "package_name": "jaffle_shop",
			"original_file_path": "models/dashboards.yml", "type": "dashboard",
			"owner":      map[string]any{"name": "ana", "email": "ana@example.com"},
			"depends_on": map[string]any{"nodes": deps},
		}}
		parents[exposure] = deps
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
