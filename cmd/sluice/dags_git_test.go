package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitBareWithDAGs makes a bare repository whose main branch holds files,
// committed by the git command, and returns its path and the commit.
func gitBareWithDAGs(t *testing.T, subject string, files map[string]string) (bare, commit string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("no git: %v", err)
	}
	root := t.TempDir()
	bare, work := filepath.Join(root, "dags.git"), filepath.Join(root, "work")
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Grace", "GIT_AUTHOR_EMAIL=g@example.com", "GIT_COMMITTER_NAME=Grace", "GIT_COMMITTER_EMAIL=g@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(root, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	run(root, "init", "--quiet", "--initial-branch=main", work)
	for rel, content := range files {
		dagsWrite(t, work, rel, content)
	}
	run(work, "add", "-A")
	run(work, "commit", "--quiet", "-m", subject)
	run(work, "push", "--quiet", bare, "main")
	return bare, run(work, "rev-parse", "HEAD")
}

// Not parallel: without a state dir the mirror goes to the temporary
// folder, which the test points at its own.
func TestDagsListGit(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	bare, commit := gitBareWithDAGs(t, "Add etl", map[string]string{"dags/prod/etl.json": dagsGoodJSON, "README.md": "docs"})
	code, out, errOut := dagsRun(t, map[string]string{}, "dags", "list", "--json", "--dags-dir=", "--dags-git", bare, "--dags-git-path", "dags")
	if code != exitOK {
		t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var rows []struct {
		Name, Source, Status, Location string
		Origin                         struct{ Hash, Short, Author, Subject string }
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0].Name != "prod/etl" || rows[0].Source != "git" || rows[0].Status != "active" ||
		rows[0].Origin.Hash != commit || rows[0].Origin.Subject != "Add etl" || rows[0].Origin.Author != "Grace" {
		t.Fatalf("rows %+v", rows)
	}

	code, _, errOut = dagsRun(t, map[string]string{"DAGS_GIT_URL": bare, "DAGS_GIT_REF": "nope"}, "dags", "list", "--dags-dir=")
	if code == exitOK || !strings.Contains(errOut, `no branch or tag "nope"`) {
		t.Fatalf("missing ref: code %d\n%s", code, errOut)
	}
}
