package review

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// The second proof, before the push, fails on its own: the branch was
// clean when staged, then a model referencing a model it deletes landed on
// the base branch. Pushing would open a pull request whose merge breaks
// the project, so the approval is refused and the item is blocked with the
// new file's line; nothing reaches the remote.
func TestApproveRechecksAgainstTheMovedBase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil || it.State != api.ReviewStaged {
		t.Fatalf("stage: %v %+v", err, it)
	}

	// A colleague adds a model reading legacy_report, on origin's main.
	other := filepath.Join(t.TempDir(), "colleague")
	runGit(t, filepath.Dir(other), "clone", "-q", repos.remote, other)
	writeFile(t, filepath.Join(other, "models/marts/kpis.sql"), "-- weekly KPIs\nselect *\nfrom {{ ref('legacy_report') }}\n")
	runGit(t, other, "add", "-A")
	runGit(t, other, "-c", "user.name=Lee", "-c", "user.email=lee@example.com", "commit", "-q", "-m", "kpis")
	runGit(t, other, "push", "-q", "origin", "main")
	moved := runGit(t, other, "rev-parse", "HEAD")

	dry, err := svc.Approve(ctx, it.ID, true)
	if !errors.Is(err, ErrBlocked) || dry != nil {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	_, err = svc.Approve(ctx, it.ID, false)
	if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "models/marts/kpis.sql:3: ref('legacy_report') no longer resolves") {
		t.Fatalf("approve: %v", err)
	}
	if !strings.Contains(err.Error(), "base branch moved from "+short(it.Base)+" to "+short(moved)) {
		t.Errorf("the error does not say the base moved: %v", err)
	}
	if out := runGit(t, repos.remote, "branch", "--list", it.Branch); strings.TrimSpace(out) != "" {
		t.Errorf("a branch that would break the project reached the origin: %s", out)
	}
	got, err := svc.Get(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != api.ReviewBlocked || len(got.Blocked) != 1 || !strings.HasPrefix(got.Blocked[0], "models/marts/kpis.sql:3:") {
		t.Errorf("item after the refused push: %s %q", got.State, got.Blocked)
	}

	// Without legacy_report the proposal is clean on the new base: a
	// re-run stages it there and approving pushes.
	ok, err := svc.StageDeprecation(ctx, []Candidate{testCandidates[0], testCandidates[2]})
	if err != nil || ok.State != api.ReviewStaged || ok.Base != moved {
		t.Fatalf("re-stage on the moved base: %v %+v", err, ok)
	}
	if _, err := svc.Approve(ctx, ok.ID, false); err != nil {
		t.Fatalf("approve the clean branch: %v", err)
	}
	if out := runGit(t, repos.remote, "branch", "--list", ok.Branch); !strings.Contains(out, ok.Branch) {
		t.Errorf("the clean branch was not pushed: %q", out)
	}
}

// A base that moved without touching what the branch deletes does not
// block: the replayed branch still resolves.
func TestApproveOnAMovedBaseThatStillResolves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "colleague")
	runGit(t, filepath.Dir(other), "clone", "-q", repos.remote, other)
	writeFile(t, filepath.Join(other, "models/marts/orders.sql"), "select * from {{ ref('stg_orders') }}\n")
	runGit(t, other, "add", "-A")
	runGit(t, other, "-c", "user.name=Lee", "-c", "user.email=lee@example.com", "commit", "-q", "-m", "orders")
	runGit(t, other, "push", "-q", "origin", "main")
	if _, err := svc.Approve(ctx, it.ID, false); err != nil {
		t.Fatalf("approve: %v", err)
	}
}
