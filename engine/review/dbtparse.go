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

// parseResult is one `dbt parse`.
type parseResult struct {
	ran    bool   // a dbt executable was found and the project written
	failed bool   // dbt exited non-zero
	detail string // "ok", "failed (exit status 2): ..." or "not run: ..."
}

// dbtParse runs `dbt parse` on the commit's project, written to a temporary
// folder, and returns the note recording its result ("" without dbt). It
// is a second opinion: sluice's own reference check is the guarantee, and
// dbt may lack a profile or packages where sluice runs.
func (s *Service) dbtParse(ctx context.Context, sc *scratch, commit plumbing.Hash) string {
	if s.dbtBin() == "" {
		return ""
	}
	c, err := sc.repo.CommitObject(commit)
	var t *object.Tree
	if err == nil {
		t, err = c.Tree()
	}
	if err != nil {
		return "dbt parse not run: " + err.Error()
	}
	return "dbt parse" + parseNote(s.dbtParseTree(ctx, t, sc.projectDir))
}

func parseNote(r parseResult) string {
	if r.detail == "ok" {
		return ": ok"
	}
	return " " + r.detail
}

// dbtParseTree runs `dbt parse` on a tree's project folder; the zero result
// without dbt.
func (s *Service) dbtParseTree(ctx context.Context, t *object.Tree, projectDir string) parseResult {
	bin := s.dbtBin()
	if bin == "" {
		return parseResult{}
	}
	dir, err := os.MkdirTemp("", "sluice-dbt-parse-")
	if err != nil {
		return parseResult{detail: "not run: " + err.Error()}
	}
	defer os.RemoveAll(dir)
	if err := writeProject(t, projectDir, dir); err != nil {
		return parseResult{detail: "not run: " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, dbtParseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "parse", "--project-dir", dir, "--profiles-dir", dir)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return parseResult{ran: true, failed: true, detail: fmt.Sprintf("failed (%v): %s", err, lastLines(string(out), 5))}
	}
	return parseResult{ran: true, detail: "ok"}
}

// pushParse is `dbt parse` before a push, on the tree the re-check proved
// (the branch's changes on the base branch as it is now). A failure the
// base branch shares too (no profile where sluice runs, packages not
// installed, a project broken upstream) is not the branch's doing and does
// not hold the push up; one the branch brings does. note records the
// result in the item's notes; refuse is dbt's message when the push must
// not happen.
func (s *Service) pushParse(ctx context.Context, sc *scratch, rc *recheck, baseBranch string) (note, refuse string) {
	r := s.dbtParseTree(ctx, rc.tree, sc.projectDir)
	if r.detail == "" {
		return "", ""
	}
	on := fmt.Sprintf("dbt parse before the push (on %s at %s)", baseBranch, short(rc.base))
	if !r.failed {
		return on + parseNote(r), ""
	}
	c, err := sc.repo.CommitObject(plumbing.NewHash(rc.base))
	var base *object.Tree
	if err == nil {
		base, err = c.Tree()
	}
	if err == nil {
		if b := s.dbtParseTree(ctx, base, sc.projectDir); b.failed {
			return on + " " + r.detail + "; it fails on the base branch too, so not because of this branch", ""
		}
	}
	return on + " " + r.detail, "dbt parse fails on the branch (it passes on the base branch): " + strings.TrimPrefix(r.detail, "failed ")
}

// writeProject writes the tree's project folder into dir.
func writeProject(t *object.Tree, projectDir, dir string) error {
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
