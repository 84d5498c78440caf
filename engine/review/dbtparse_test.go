package review

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// standInDBT writes a dbt stand-in for `dbt parse --project-dir DIR ...`:
// like dbt, it fails when a model refs legacy_report (models/marts/kpis.sql
// does, in a way no static reading sees) and the project lacks it; with
// noProfile it fails on every project, as dbt does without a profile. Each
// run appends a line to the returned record.
func standInDBT(t *testing.T, noProfile bool) (bin, record string) {
	t.Helper()
	dir := t.TempDir()
	bin, record = filepath.Join(dir, "dbt"), filepath.Join(dir, "runs")
	script := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %q
if [ %q = true ]; then
  echo "Runtime Error: Could not find profile named 'jaffle_shop'" >&2
  exit 2
fi
if [ -f "$3/models/marts/kpis.sql" ] && [ ! -f "$3/models/marts/legacy_report.sql" ]; then
  echo "Compilation Error in model kpis (models/marts/kpis.sql)" >&2
  echo "  Model 'model.jaffle_shop.kpis' (models/marts/kpis.sql) depends on a node named 'legacy_report' which was not found" >&2
  exit 1
fi
echo "Performance info: target/perf_info.json"
`, record, fmt.Sprint(noProfile))
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, record
}

func runsOf(t *testing.T, record string) int {
	t.Helper()
	b, err := os.ReadFile(record)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// pushColleague commits a file on origin's main from another clone and
// returns the new head.
func pushColleague(t *testing.T, repos gitRepos, p, content string) string {
	t.Helper()
	other := filepath.Join(t.TempDir(), "colleague")
	runGit(t, filepath.Dir(other), "clone", "-q", repos.remote, other)
	writeFile(t, filepath.Join(other, p), content)
	runGit(t, other, "add", "-A")
	runGit(t, other, "-c", "user.name=Lee", "-c", "user.email=lee@example.com", "commit", "-q", "-m", "kpis")
	runGit(t, other, "push", "-q", "origin", "main")
	return runGit(t, other, "rev-parse", "HEAD")
}

// `dbt parse` runs again before the push, on the tree the re-check proves
// (the branch replayed on the base branch as it is then), and is recorded
// in the item's notes as at staging. Here the base moved under the branch
// with a model whose ref() Sluice's static check cannot read: dbt fails,
// the push is refused with dbt's own message (a dry run says so too), and
// nothing reaches the remote.
func TestApproveRunsDBTParseBeforeThePush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	bin, record := standInDBT(t, false)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, DBTBin: bin})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil || it.State != api.ReviewStaged {
		t.Fatalf("stage: %v %+v", err, it)
	}
	if !strings.Contains(strings.Join(it.Notes, "\n"), "dbt parse: ok") || runsOf(t, record) != 1 {
		t.Fatalf("staging's parse: %q, %d runs", it.Notes, runsOf(t, record))
	}

	moved := pushColleague(t, repos, "models/marts/kpis.sql", "select * from {{ ref('legacy' ~ '_report') }}\n")
	dbtSays := "depends on a node named 'legacy_report' which was not found"

	before, _ := svc.Get(ctx, it.ID)
	if _, err := svc.Approve(ctx, it.ID, true); !errors.Is(err, ErrDBTParse) || !strings.Contains(err.Error(), dbtSays) {
		t.Fatalf("dry run: %v", err)
	}
	if after, _ := svc.Get(ctx, it.ID); len(after.History) != len(before.History) || after.Error != "" {
		t.Errorf("a dry run changed the item: %q %q", after.History, after.Error)
	}

	_, err = svc.Approve(ctx, it.ID, false)
	if !errors.Is(err, ErrDBTParse) || !strings.Contains(err.Error(), dbtSays) {
		t.Fatalf("approve: %v", err)
	}
	if out := runGit(t, repos.remote, "branch", "--list", it.Branch); strings.TrimSpace(out) != "" {
		t.Errorf("a branch dbt cannot parse reached the origin: %s", out)
	}
	got, err := svc.Get(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(got.Notes, "\n")
	want := "dbt parse before the push (on main at " + short(moved) + ") failed (exit status 1): Compilation Error in model kpis"
	if got.State != api.ReviewStaged || !strings.Contains(got.Error, dbtSays) || !strings.Contains(notes, want) || !strings.Contains(notes, "dbt parse: ok") {
		t.Errorf("item after the refused push: %s %q\nnotes %q", got.State, got.Error, got.Notes)
	}
	if last := got.History[len(got.History)-1].Note; !strings.HasPrefix(last, "push refused: dbt parse fails on the branch (it passes on the base branch)") {
		t.Errorf("history: %q", last)
	}

	// Without legacy_report in it, the proposal parses on the new base: it
	// is pushed, and the push's parse is recorded (once, the latest).
	ok, err := svc.StageDeprecation(ctx, []Candidate{testCandidates[0], testCandidates[2]})
	if err != nil || ok.State != api.ReviewStaged || ok.Base != moved {
		t.Fatalf("re-stage: %v %+v", err, ok)
	}
	if _, err := svc.Approve(ctx, ok.ID, false); err != nil {
		t.Fatalf("approve the clean branch: %v", err)
	}
	if out := runGit(t, repos.remote, "branch", "--list", ok.Branch); !strings.Contains(out, ok.Branch) {
		t.Errorf("the clean branch was not pushed: %q", out)
	}
	pushed, _ := svc.Get(ctx, ok.ID)
	if n := strings.Join(pushed.Notes, "\n"); strings.Count(n, "dbt parse before the push") != 1 || !strings.Contains(n, "dbt parse before the push (on main at "+short(moved)+"): ok") {
		t.Errorf("notes %q", pushed.Notes)
	}
	b := prBody(pushed, "")
	_, notDone, _ := strings.Cut(b, "**Not done**")
	if !strings.Contains(b, "**Checks**\n\n- dbt parse: ok\n- dbt parse before the push") || strings.Contains(notDone, "dbt parse") {
		t.Errorf("pull request body:\n%s", b)
	}
}

// A parse that fails on the base branch as well (here: no profile where
// Sluice runs) is not the branch's doing: the push goes ahead, and the
// note says so.
func TestApproveDBTParseFailingOnTheBaseToo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	bin, record := standInDBT(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, DBTBin: bin})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil || it.State != api.ReviewStaged {
		t.Fatalf("stage: %v %+v", err, it)
	}
	if _, err := svc.Approve(ctx, it.ID, false); err != nil {
		t.Fatalf("approve: %v", err)
	}
	got, _ := svc.Get(ctx, it.ID)
	notes := strings.Join(got.Notes, "\n")
	if got.State != api.ReviewPushed || !strings.Contains(notes, "Could not find profile named 'jaffle_shop'; it fails on the base branch too, so not because of this branch") {
		t.Errorf("%s, notes %q", got.State, got.Notes)
	}
	if n := runsOf(t, record); n != 3 { // staging; the branch and the base before the push
		t.Errorf("dbt ran %d times, want 3", n)
	}
}
