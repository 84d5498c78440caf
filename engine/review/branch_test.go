package review

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

var branchName = regexp.MustCompile(`^sluice/deprecate-20260102-[0-9a-f]{7}$`)

func TestStageDeprecationBuildsBranchWithoutTouchingCheckout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	before := checksumDir(t, repos.user)
	remoteBefore := checksumDir(t, repos.remote)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})

	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if it == nil || it.Kind != KindDeprecate || it.State != api.ReviewStaged {
		t.Fatalf("item = %+v, want a staged deprecate item", it)
	}
	if !branchName.MatchString(it.Branch) {
		t.Errorf("branch %q does not match %v", it.Branch, branchName)
	}
	if got := checksumDir(t, repos.user); got != before {
		t.Fatalf("the user's checkout changed:\nbefore:\n%s\nafter:\n%s", before, got)
	}
	if got := checksumDir(t, repos.remote); got != remoteBefore {
		t.Fatal("staging wrote to the remote")
	}

	// The branch, read with the git binary from the scratch clone.
	scratch := scratchDir(svc.cfg.StateDir, repos.user)
	files := strings.Split(runGit(t, scratch, "ls-tree", "-r", "--name-only", it.Branch), "\n")
	want := []string{
		"dbt_project.yml",
		"models/marts/customers.sql",
		"models/marts/marts.yml",
		"models/staging/schema.yml",
		"models/staging/stg_customers.sql",
		"models/staging/stg_orders.sql",
	}
	if strings.Join(files, ",") != strings.Join(want, ",") {
		t.Errorf("branch files:\n%v\nwant\n%v", files, want)
	}
	schema := runGit(t, scratch, "show", it.Branch+":models/staging/schema.yml") + "\n"
	wantSchema := strings.Replace(dbtFiles["models/staging/schema.yml"], `
  # Payments arrive from Stripe a day late.
  - name: stg_payments
    description: Payments in cents.
    columns:
      - name: payment_id
        tests: [unique]
`, "", 1)
	wantSchema = strings.TrimSuffix(wantSchema, "\n") + "\n"
	if schema != wantSchema {
		t.Errorf("schema.yml on the branch:\n%s\nwant:\n%s", schema, wantSchema)
	}
	marts := runGit(t, scratch, "show", it.Branch+":models/marts/marts.yml") + "\n"
	if marts != "version: 2\nmodels:\n  - name: customers\n    description: \"The customer mart\"   # used by the finance dashboard\n" {
		t.Errorf("marts.yml on the branch:\n%s", marts)
	}
	parent := runGit(t, scratch, "rev-parse", it.Branch+"^")
	if parent != runGit(t, repos.remote, "rev-parse", "main") || parent != it.Base {
		t.Errorf("branch parent %s, base %s; want origin's main", parent, it.Base)
	}
	msg := runGit(t, scratch, "log", "-1", "--format=%B", it.Branch)
	for _, s := range []string{"Remove 3 unused dbt models", "stg_payments (model.jaffle_shop.stg_payments)", "only consumer is stale report Old KPIs", "importance: 0.1250"} {
		if !strings.Contains(msg, s) {
			t.Errorf("commit message lacks %q:\n%s", s, msg)
		}
	}

	// The stored diff is a real unified diff that git itself agrees with.
	gitDiff := runGit(t, scratch, "diff", "--stat", it.Base, it.Branch)
	for _, f := range []string{"legacy.yml", "old_only.sql", "stg_payments.sql", "legacy_report.sql"} {
		if !strings.Contains(gitDiff, f) || !strings.Contains(it.Diff, f) {
			t.Errorf("%s missing from the diff:\n%s", f, it.Diff)
		}
	}
	for _, s := range []string{"--- a/models/staging/schema.yml", "+++ b/models/staging/schema.yml", "-  - name: stg_payments", "-  # Payments arrive from Stripe a day late.", "@@ "} {
		if !strings.Contains(it.Diff, s) {
			t.Errorf("diff lacks %q:\n%s", s, it.Diff)
		}
	}
	if strings.Contains(it.Diff, "-  - name: stg_orders") {
		t.Errorf("diff removes a kept entry:\n%s", it.Diff)
	}
	checkPatchApplies(t, repos.remote, it.Diff)

	wantFiles := map[string]string{
		"models/legacy/legacy.yml":        FileDeleted,
		"models/legacy/old_only.sql":      FileDeleted,
		"models/marts/legacy_report.sql":  FileDeleted,
		"models/marts/marts.yml":          FileModified,
		"models/staging/schema.yml":       FileModified,
		"models/staging/stg_payments.sql": FileDeleted,
	}
	if len(it.Files) != len(wantFiles) {
		t.Errorf("files %v, want %v", it.Files, wantFiles)
	}
	for _, f := range it.Files {
		if wantFiles[f.Path] != f.Action {
			t.Errorf("file %s %s, want %q", f.Path, f.Action, wantFiles[f.Path])
		}
	}
	if len(it.Subjects) != 3 || it.Subjects[0].ID != "model.jaffle_shop.legacy_report" || it.Subjects[0].Importance != 0.05 {
		t.Errorf("subjects %+v", it.Subjects)
	}

	// Persisted, and in the read model.
	got, err := svc.Get(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Diff != it.Diff || got.Branch != it.Branch || len(got.History) != 1 || got.History[0].State != api.ReviewStaged {
		t.Errorf("stored item differs: %+v", got)
	}
	snap := svc.Reviews()
	if len(snap) != 1 || snap[0].ID != it.ID || snap[0].Kind != "deprecate" || snap[0].State != "staged" || len(snap[0].Subjects) != 3 || snap[0].Diff == "" {
		t.Errorf("snapshot %+v", snap)
	}
	select {
	case <-svc.Changes():
	default:
		t.Error("staging did not signal a change")
	}
}

// checkPatchApplies applies the stored diff with `git apply --check` to a
// fresh clone of base, proving it is a well-formed unified diff.
func checkPatchApplies(t *testing.T, remote, diff string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "check")
	runGit(t, filepath.Dir(dir), "clone", "-q", remote, dir)
	patch := filepath.Join(t.TempDir(), "p.diff")
	if err := os.WriteFile(patch, []byte(diff), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "apply", "--check", patch)
}

func TestRestageUpdatesTheStagedItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})

	first, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil {
		t.Fatal(err)
	}
	// The same proposal again: the same item, untouched.
	again, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Version != first.Version {
		t.Errorf("identical re-run changed the item: v%d -> v%d", first.Version, again.Version)
	}
	// A new run proposing more: the staged item is updated in place.
	second, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID {
		t.Fatalf("re-run created item %d instead of updating %d", second.ID, first.ID)
	}
	items, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("%d items after re-runs, want 1", len(items))
	}
	got := items[0]
	if len(got.Subjects) != 3 || got.State != api.ReviewStaged || len(got.History) != 2 || !strings.Contains(got.History[1].Note, "updated") {
		t.Errorf("updated item: subjects %d, state %s, history %+v", len(got.Subjects), got.State, got.History)
	}
	scratch := scratchDir(svc.cfg.StateDir, repos.user)
	if first.Branch != second.Branch {
		if out, err := exec.Command("git", "-C", scratch, "rev-parse", "--verify", "-q", first.Branch).Output(); err == nil {
			t.Errorf("superseded branch %s still exists at %s", first.Branch, out)
		}
	}
	if runGit(t, scratch, "rev-parse", second.Branch) != second.Commit {
		t.Error("branch does not point at the item's commit")
	}

	// A run with no candidates withdraws the staged item.
	none, err := svc.StageDeprecation(ctx, []Candidate{})
	if err != nil || none != nil {
		t.Fatalf("empty proposal = %v, %v", none, err)
	}
	got, _ = svc.Get(ctx, first.ID)
	if got.State != api.ReviewRejected || !got.Withdrawn {
		t.Errorf("state %s withdrawn %v after an empty run, want rejected and withdrawn", got.State, got.Withdrawn)
	}
	// Withdrawn is not declined: proposing it again stages anew.
	back, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil || back == nil || back.State != api.ReviewStaged || back.ID == first.ID {
		t.Fatalf("re-proposal after withdrawal = %+v, %v", back, err)
	}
	// A human rejection is remembered: the same proposal is not staged again.
	if _, err := svc.Reject(ctx, back.ID, ""); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", scratch, "rev-parse", "--verify", "-q", back.Branch).Output(); err == nil {
		t.Errorf("rejected branch still exists at %s", out)
	}
	declined, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil || declined == nil || declined.ID != back.ID || declined.State != api.ReviewRejected {
		t.Fatalf("re-proposal after rejection = %+v, %v; want the rejected item", declined, err)
	}
	items, _ = svc.List(ctx)
	if len(items) != 2 {
		t.Errorf("%d items, want 2 (withdrawn + rejected)", len(items))
	}
}

func TestApprovePushesToOriginWithoutGitHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	before := checksumDir(t, repos.user)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}

	dry, err := svc.Approve(ctx, it.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || dry.Push == nil || dry.Push.Remote != repos.remote || strings.HasPrefix(dry.Push.RefSpec, "+") || dry.PR != nil || dry.Push.Warning != "" {
		t.Errorf("dry run = %+v", dry)
	}
	if _, err := exec.Command("git", "-C", repos.remote, "rev-parse", "--verify", "-q", it.Branch).Output(); err == nil {
		t.Fatal("a dry run pushed")
	}
	if got, _ := svc.Get(ctx, it.ID); got.State != api.ReviewStaged || got.Version != it.Version {
		t.Fatalf("a dry run changed the item: %s v%d", got.State, got.Version)
	}

	out, err := svc.Approve(ctx, it.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Item.State != api.ReviewPushed {
		t.Errorf("state %s, want pushed (no GitHub configured)", out.Item.State)
	}
	if got := runGit(t, repos.remote, "rev-parse", it.Branch); got != it.Commit {
		t.Errorf("remote branch at %s, want %s", got, it.Commit)
	}
	if got := checksumDir(t, repos.user); got != before {
		t.Fatal("approving changed the user's checkout")
	}
	var states []State
	for _, ev := range out.Item.History {
		states = append(states, ev.State)
	}
	if strings.Join(stateStrings(states), ",") != "staged,approved,pushed" {
		t.Errorf("history %v", states)
	}
	if _, err := svc.Approve(ctx, it.ID, false); !errors.Is(err, ErrState) {
		t.Errorf("approving a pushed item: %v, want ErrState", err)
	}
}

func stateStrings(s []State) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func TestNonFastForwardPushFailsWithoutForce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	// Someone else pushed a different commit to the same branch name.
	other := filepath.Join(t.TempDir(), "other")
	runGit(t, filepath.Dir(other), "clone", "-q", repos.remote, other)
	writeFile(t, filepath.Join(other, "README.md"), "theirs\n")
	runGit(t, other, "add", "README.md")
	runGit(t, other, "commit", "-q", "-m", "theirs")
	runGit(t, other, "push", "-q", "origin", "HEAD:refs/heads/"+it.Branch)
	theirs := runGit(t, repos.remote, "rev-parse", it.Branch)
	dry, err := svc.Approve(ctx, it.ID, true)
	if err != nil || !strings.Contains(dry.Push.Warning, "would be rejected") {
		t.Errorf("dry run before a non-fast-forward push: %+v, %v", dry.Push, err)
	}

	_, err = svc.Approve(ctx, it.ID, false)
	if !errors.Is(err, ErrNonFastForward) {
		t.Fatalf("approve = %v, want ErrNonFastForward", err)
	}
	if !strings.Contains(err.Error(), "non-fast-forward") || !strings.Contains(err.Error(), it.Branch) {
		t.Errorf("error is not clear: %v", err)
	}
	if got := runGit(t, repos.remote, "rev-parse", it.Branch); got != theirs {
		t.Fatal("the remote branch was overwritten")
	}
	got, _ := svc.Get(ctx, it.ID)
	if got.State != api.ReviewStaged || !strings.Contains(got.Error, "non-fast-forward") {
		t.Errorf("after a rejected push: state %s error %q, want staged with the error", got.State, got.Error)
	}
}

func TestNoOriginStagesFromCheckoutButCannotPush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, false)
	before := checksumDir(t, repos.user)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})
	it, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil {
		t.Fatal(err)
	}
	if it.Base != runGit(t, repos.user, "rev-parse", "HEAD") {
		t.Errorf("base %s, want the checkout's main", it.Base)
	}
	if _, err := svc.Approve(ctx, it.ID, false); !errors.Is(err, ErrNoRemote) {
		t.Errorf("approve = %v, want ErrNoRemote", err)
	}
	if got := checksumDir(t, repos.user); got != before {
		t.Fatal("the user's checkout changed")
	}
}

func TestRefusesToPushIntoTheCheckout(t *testing.T) {
	t.Parallel()
	repos := newRepos(t, false)
	_, err := resolvePushURL(repos.user, repos.user, repos.user)
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("push URL = the checkout: %v, want a refusal", err)
	}
}

func TestStageFromRemoteURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: "file://" + repos.remote, BaseBranch: "main"})
	it, err := svc.StageDeprecation(ctx, testCandidates[1:2])
	if err != nil {
		t.Fatal(err)
	}
	if it.BaseBranch != "main" || len(it.Files) != 2 {
		t.Errorf("item from URL: base %s files %v", it.BaseBranch, it.Files)
	}
	if _, err := svc.Approve(ctx, it.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := runGit(t, repos.remote, "rev-parse", it.Branch); got != it.Commit {
		t.Errorf("remote branch at %s, want %s", got, it.Commit)
	}
}

func TestStageExposures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user})
	content := []byte("version: 2\nexposures:\n  - name: revenue_dashboard\n    type: dashboard\n    owner: {name: Mode}\n    depends_on: [ref('customers')]\n")
	ex := Exposures{Path: "models/exposures.yml", Content: content, Subjects: []Subject{{ID: "revenue_dashboard", Name: "revenue_dashboard", Reason: "active Mode report"}}}
	it, err := svc.StageExposures(ctx, ex)
	if err != nil {
		t.Fatal(err)
	}
	if it == nil || !regexp.MustCompile(`^sluice/exposures-20260102-[0-9a-f]{7}$`).MatchString(it.Branch) {
		t.Fatalf("item %+v", it)
	}
	if len(it.Files) != 1 || it.Files[0] != (FileChange{Path: "models/exposures.yml", Action: FileAdded}) {
		t.Errorf("files %v", it.Files)
	}
	if !strings.Contains(it.Diff, "+  - name: revenue_dashboard") {
		t.Errorf("diff:\n%s", it.Diff)
	}
	// Push it, merge it upstream; the same content is then no proposal.
	if _, err := svc.Approve(ctx, it.ID, false); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	runGit(t, filepath.Dir(other), "clone", "-q", repos.remote, other)
	runGit(t, other, "merge", "-q", "--ff-only", "origin/"+it.Branch)
	runGit(t, other, "push", "-q", "origin", "main")
	again, err := svc.StageExposures(ctx, ex)
	if err != nil {
		t.Fatal(err)
	}
	if again == nil || again.ID != it.ID {
		t.Errorf("the pushed proposal again = %+v; want the pushed item, no new one", again)
	}
	changed := ex
	changed.Content = append([]byte(nil), content...)
	changed.Content = append(changed.Content, []byte("  - name: churn\n    type: dashboard\n    owner: {name: Mode}\n")...)
	next, err := svc.StageExposures(ctx, changed)
	if err != nil || next == nil || next.ID == it.ID || next.Files[0].Action != FileModified {
		t.Fatalf("changed exposures = %+v, %v", next, err)
	}
	same := ex // what main already has: nothing to do, the staged one is withdrawn
	none, err := svc.StageExposures(ctx, Exposures{Path: same.Path, Content: content, Subjects: same.Subjects})
	if err != nil {
		t.Fatal(err)
	}
	if none != nil && none.State == api.ReviewStaged {
		t.Errorf("exposures equal to main staged %+v", none)
	}
	if got, _ := svc.Get(ctx, next.ID); got.State != api.ReviewRejected || !got.Withdrawn {
		t.Errorf("stale staged exposures: %s", got.State)
	}
}

// --repo may name the dbt project inside a larger checkout: paths are
// taken relative to it, and the branch is built on the whole repository.
func TestProjectInsideMonorepo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	user, remote := filepath.Join(root, "mono"), filepath.Join(root, "remote.git")
	runGit(t, root, "init", "-q", "--bare", "-b", "main", remote)
	runGit(t, root, "init", "-q", "-b", "main", user)
	writeFile(t, filepath.Join(user, "services/api/main.go"), "package main\n")
	writeFile(t, filepath.Join(user, "analytics/dbt/models/x.sql"), "select 1\n")
	writeFile(t, filepath.Join(user, "analytics/dbt/models/y.sql"), "select 2\n")
	writeFile(t, filepath.Join(user, "analytics/dbt/models/schema.yml"), "version: 2\nmodels:\n  - name: x\n  - name: y\n")
	runGit(t, user, "add", "-A")
	runGit(t, user, "commit", "-q", "-m", "mono")
	runGit(t, user, "remote", "add", "origin", remote)
	runGit(t, user, "push", "-q", "origin", "main")
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: filepath.Join(user, "analytics/dbt")})
	it, err := svc.StageDeprecation(ctx, []Candidate{{UniqueID: "model.a.x", Name: "x", Reason: "unused",
		Files: []string{"models/x.sql"}, PatchPath: "a://models/schema.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []FileChange{{Path: "analytics/dbt/models/schema.yml", Action: FileModified}, {Path: "analytics/dbt/models/x.sql", Action: FileDeleted}}
	if len(it.Files) != 2 || it.Files[0] != want[0] || it.Files[1] != want[1] {
		t.Errorf("files %v, want %v", it.Files, want)
	}
	scratch := scratchDir(svc.cfg.StateDir, filepath.Join(user, "analytics/dbt"))
	if got := runGit(t, scratch, "show", it.Branch+":analytics/dbt/models/schema.yml"); got != "version: 2\nmodels:\n  - name: y" {
		t.Errorf("schema.yml:\n%s", got)
	}
	if _, err := svc.Approve(ctx, it.ID, false); err != nil {
		t.Fatal(err)
	}
	if runGit(t, remote, "rev-parse", it.Branch) != it.Commit {
		t.Error("not pushed to the monorepo's origin")
	}
}
