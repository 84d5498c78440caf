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
	manifest := metaRunManifest(t)
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
