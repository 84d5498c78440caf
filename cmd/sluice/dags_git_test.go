package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/gitauth/gitauthtest"
)

// gitRepoWithWork makes a bare repository whose main branch holds files,
// committed by the git command from a working clone; it returns both and
// the commit.
func gitRepoWithWork(t *testing.T, files map[string]string) (bare, work, commit string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("no git: %v", err)
	}
	root := t.TempDir()
	bare, work = filepath.Join(root, "dags.git"), filepath.Join(root, "work")
	gitCmd(t, root, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	gitCmd(t, root, "init", "--quiet", "--initial-branch=main", work)
	return bare, work, commitTo(t, work, bare, "init", files)
}

// commitTo commits files in work, pushes main to bare, returns the commit.
func commitTo(t *testing.T, work, bare, subject string, files map[string]string) string {
	t.Helper()
	for rel, content := range files {
		dagsWrite(t, work, rel, content)
	}
	gitCmd(t, work, "add", "-A")
	gitCmd(t, work, "commit", "--quiet", "-m", subject)
	gitCmd(t, work, "push", "--quiet", bare, "main")
	return gitCmd(t, work, "rev-parse", "HEAD")
}

func gitCmd(t *testing.T, dir string, args ...string) string {
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

// Not parallel: without a state dir the mirror goes to the temporary
// folder, which the test points at its own.
func TestDagsListGit(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	bare, work, _ := gitRepoWithWork(t, map[string]string{"README.md": "docs"})
	commit := commitTo(t, work, bare, "Add etl", map[string]string{"dags/prod/etl.json": dagsGoodJSON})
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

// TestDagsListGitOverSSH: `dags list` loads a repository over SSH with the
// key of DAGS_GIT_SSH_KEY, the host checked against SSH_KNOWN_HOSTS (both
// from the command's environment); a key the server refuses exits 2 with
// a message naming the key's path, never its contents. Not parallel: the
// mirror goes to the temporary folder (see TestDagsListGit).
func TestDagsListGitOverSSH(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	bare, work, _ := gitRepoWithWork(t, map[string]string{"README.md": "docs"})
	commit := commitTo(t, work, bare, "Add etl", map[string]string{"dags/etl.json": dagsGoodJSON})
	keys := t.TempDir()
	good, signer, _ := gitauthtest.WriteKey(t, keys, "id_dags")
	bad, _, badPEM := gitauthtest.WriteKey(t, keys, "id_other")
	srv := gitauthtest.NewSSHServer(t, filepath.Dir(bare), signer.PublicKey())
	env := map[string]string{
		"DAGS_GIT_URL": srv.URL(filepath.Base(bare)), "DAGS_GIT_PATH": "dags", "DAGS_GIT_SSH_KEY": good,
		"SSH_KNOWN_HOSTS": gitauthtest.WriteKnownHosts(t, t.TempDir(), srv.KnownHostsLine()),
	}
	code, out, errOut := dagsRun(t, env, "dags", "list", "--json", "--dags-dir=")
	var rows []struct {
		Name, Source, Status string
		Origin               struct{ Hash string }
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != exitOK {
		t.Fatalf("code %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if len(rows) != 1 || rows[0].Name != "etl" || rows[0].Source != "git" || rows[0].Status != "active" || rows[0].Origin.Hash != commit {
		t.Fatalf("rows %+v", rows)
	}

	env["DAGS_GIT_SSH_KEY"] = bad
	code, out, errOut = dagsRun(t, env, "dags", "list", "--dags-dir=")
	if code != exitUsage || !strings.Contains(errOut, srv.Addr+" refused the SSH key "+bad) {
		t.Fatalf("refused key: code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, line := range strings.Split(string(badPEM), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") && strings.Contains(out+errOut, line) {
			t.Fatalf("the key's contents are shown:\n%s%s", out, errOut)
		}
	}
}
