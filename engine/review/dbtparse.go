package review

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// dbtParseTimeout bounds one `dbt parse`.
const dbtParseTimeout = 5 * time.Minute

// dbtBin is the dbt executable to run `dbt parse` with: the configured
// one, else `dbt` on PATH, else none.
func (s *Service) dbtBin() string {
	if s.cfg.DBTBin != "" {
		return s.cfg.DBTBin
	}
	if p, err := exec.LookPath("dbt"); err == nil {
		return p
	}
	return ""
}

// dbtParse runs `dbt parse` on the commit's project, written to a temporary
// folder, and returns the note recording its result ("" without dbt). It
// is a second opinion: sluice's own reference check is the guarantee, and
// dbt may lack a profile or packages where sluice runs.
func (s *Service) dbtParse(ctx context.Context, sc *scratch, commit plumbing.Hash) string {
	bin := s.dbtBin()
	if bin == "" {
		return ""
	}
	dir, err := os.MkdirTemp("", "sluice-dbt-parse-")
	if err != nil {
		return "dbt parse not run: " + err.Error()
	}
	defer os.RemoveAll(dir)
	c, err := sc.repo.CommitObject(commit)
	if err == nil {
		err = writeProject(c, sc.projectDir, dir)
	}
	if err != nil {
		return "dbt parse not run: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, dbtParseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "parse", "--project-dir", dir, "--profiles-dir", dir)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("dbt parse failed (%v): %s", err, lastLines(string(out), 5))
	}
	return "dbt parse: ok"
}

// writeProject writes the commit's project folder into dir.
func writeProject(c *object.Commit, projectDir, dir string) error {
	t, err := c.Tree()
	if err != nil {
		return err
	}
	files, err := treeFiles(t, projectDir)
	if err != nil {
		return err
	}
	for p, f := range files {
		rel := strings.TrimPrefix(p, projectDir+"/")
		if projectDir == "" || projectDir == "." {
			rel = p
		}
		content, err := blobText(f)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
