package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestDAGVersionOriginFromGit: on a real bare repository, each version of
// a DAG that `sluice run` loads from git records the commit that changed
// it (short SHA, author, subject), and `sluice dags versions --json`
// shows it; a commit that leaves the file alone makes no version.
func TestDAGVersionOriginFromGit(t *testing.T) {
	t.Parallel()
	bare, work, first := gitRepoWithWork(t, map[string]string{"dags/etl.json": dagsGoodJSON})
	state := t.TempDir()
	vars := map[string]string{"SLUICE_STATE_DIR": state}
	_, stop := startInProcessEngine(t, vars, "--dags-dir=", "--dags-git", bare, "--dags-git-path", "dags", "--scan-interval", "100ms")
	defer stop()

	ctx := context.Background()
	versions := func() []api.DAGVersion {
		t.Helper()
		code, out, errOut := runCmd(ctx, vars, "dags", "versions", "etl", "--json")
		if code != exitOK {
			t.Fatalf("dags versions: exit %d\n%s", code, errOut)
		}
		var vs []api.DAGVersion
		if err := json.Unmarshal([]byte(out), &vs); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return vs
	}
	var vs []api.DAGVersion
	enginetest.Eventually(t, 20*time.Second, func() bool { vs = versions(); return len(vs) == 1 }, "the first version recorded")
	if o := vs[0].Origin; o == nil || o.Hash != first || o.Short != first[:7] || o.Author != "Grace" || o.Subject != "init" {
		t.Fatalf("version 1 origin %+v, want %s init by Grace", o, first[:7])
	}

	// A commit that does not touch the DAG: still one version.
	commitTo(t, work, bare, "Document the DAGs", map[string]string{"README.md": "docs"})
	changed := commitTo(t, work, bare, "Run etl's b alone", map[string]string{"dags/etl.json": strings.Replace(dagsGoodJSON, `, "depends_on": ["a"]`, "", 1)})
	enginetest.Eventually(t, 20*time.Second, func() bool { vs = versions(); return len(vs) == 2 }, "the edited DAG's version recorded")
	if o := vs[0].Origin; vs[0].Version != 2 || o == nil || o.Hash != changed || o.Subject != "Run etl's b alone" || o.Author != "Grace" {
		t.Fatalf("version 2 origin %+v, want %s", o, changed[:7])
	}
	if o := vs[1].Origin; o == nil || o.Hash != first {
		t.Fatalf("version 1 origin after the edit %+v, want still %s", o, first[:7])
	}

	// The table says who changed it too.
	code, out, _ := runCmd(ctx, vars, "dags", "versions", "etl")
	if code != exitOK || !strings.Contains(out, changed[:7]+" Run etl's b alone (Grace)") || !strings.Contains(out, first[:7]+" init (Grace)") {
		t.Fatalf("dags versions table (exit %d):\n%s", code, out)
	}
}
