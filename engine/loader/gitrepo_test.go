package loader

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/enginetest"
)

// gitRemote is a real repository for the git source to fetch: a bare
// repository (the remote) and a working clone that commits and pushes to
// it, both driven by the git command.
type gitRemote struct {
	t    testing.TB
	bare string
	work string
}

// newGitRemote makes a bare repository whose HEAD is main, and a clone.
func newGitRemote(t testing.TB) *gitRemote {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("no git: %v", err)
	}
	root := t.TempDir()
	g := &gitRemote{t: t, bare: filepath.Join(root, "dags.git"), work: filepath.Join(root, "work")}
	g.run(root, "init", "--quiet", "--bare", "--initial-branch=main", g.bare)
	g.run(root, "init", "--quiet", "--initial-branch=main", g.work)
	g.run(g.work, "remote", "add", "origin", g.bare)
	return g
}

func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada Lovelace", "GIT_COMMITTER_EMAIL=ada@example.com")
}

func (g *gitRemote) run(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (an empty content deletes the file), commits them
// with subject on the current branch, pushes it and returns the commit.
func (g *gitRemote) commit(subject string, files map[string]string) string {
	g.t.Helper()
	for rel, content := range files {
		p := filepath.Join(g.work, filepath.FromSlash(rel))
		if content == "" {
			if err := os.Remove(p); err != nil {
				g.t.Fatal(err)
			}
			continue
		}
		enginetest.WriteDAG(g.t, g.work, rel, content)
	}
	g.run(g.work, "add", "-A")
	g.run(g.work, "commit", "--quiet", "--allow-empty", "-m", subject)
	branch := g.run(g.work, "rev-parse", "--abbrev-ref", "HEAD")
	g.run(g.work, "push", "--quiet", "--force", "origin", branch)
	return g.run(g.work, "rev-parse", "HEAD")
}

func gitConfig(url, ref, folder, mirrors string) Config {
	cfg := localConfig("")
	cfg.Dir, cfg.GitURL, cfg.GitRef, cfg.GitPath, cfg.GitMirrorDir = "", url, ref, folder, mirrors
	return cfg
}

// gitSourceOf is the loader's git source, for its blob counter.
func gitSourceOf(t testing.TB, l *Loader) *gitSource {
	t.Helper()
	for _, st := range l.sources {
		if g, ok := st.src.(*gitSource); ok {
			return g
		}
	}
	t.Fatal("no git source")
	return nil
}
