package review

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// An item staged on instance a is approved from a console on instance b,
// whose scratch clone never saw it: b rebuilds the branch from the store
// and pushes the very commit a staged, once, and opens one pull request —
// even after the base branch moved on.
func TestApproveOnAnotherInstanceRebuildsTheStagedCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := setupTwoInstances(t, nil)
	if x.item.Rebuild == nil || len(x.item.Rebuild.Edits) == 0 {
		t.Fatalf("staged item records no recipe: %+v", x.item.Rebuild)
	}
	// Upstream work lands on the base branch after staging.
	other := filepath.Join(t.TempDir(), "other")
	runGit(t, filepath.Dir(other), "clone", "-q", x.repos.remote, other)
	writeFile(t, filepath.Join(other, "models/marts/orders.sql"), "select * from {{ ref('stg_orders') }}\n")
	runGit(t, other, "add", "-A")
	runGit(t, other, "commit", "-q", "-m", "orders mart")
	runGit(t, other, "push", "-q", "origin", "main")

	out, err := x.b.Approve(ctx, x.item.ID, false)
	if err != nil {
		t.Fatalf("approving on b: %v", err)
	}
	if !out.Push.Pushed || out.Push.Commit != x.item.Commit || out.Opened == nil || out.Opened.Number != 42 {
		t.Fatalf("outcome on b: push %+v, opened %+v; want a's commit %s pushed and PR 42", out.Push, out.Opened, x.item.Commit)
	}
	if got := runGit(t, x.repos.remote, "log", "-1", "--format=%an <%ae> %ad", "--date=raw", x.item.Branch); strings.Contains(got, "Box B") {
		t.Fatalf("the pushed commit carries b's identity: %s", got)
	}
	sc, err := x.b.itemScratch(x.item)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.hasBranch(x.item.Branch, x.item.Commit) {
		t.Fatalf("b's scratch clone lacks %s at %s after the approval", x.item.Branch, x.item.Commit)
	}
	x.check(t)
}

// A metapipeline run on b proposing what a staged, on the same base, keeps
// a's item: b rebuilds the branch instead of staging another commit.
func TestRestagingOnAnotherInstanceKeepsTheStagedItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := setupTwoInstances(t, nil)
	it, err := x.b.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != x.item.ID || it.Commit != x.item.Commit || it.Branch != x.item.Branch || it.Version != x.item.Version {
		t.Fatalf("b restaged: got #%d %s@%s v%d, want #%d %s@%s v%d", it.ID, it.Branch, short(it.Commit), it.Version,
			x.item.ID, x.item.Branch, short(x.item.Commit), x.item.Version)
	}
	if _, err := x.b.Approve(ctx, x.item.ID, false); err != nil {
		t.Fatal(err)
	}
	x.check(t)
}

// What b rebuilds must be what the reviewer saw: a recipe that no longer
// gives the staged hash (here, a changed commit message), or none at all
// (an item staged by an older version), is refused before anything is
// taken or pushed, and the item stays staged.
func TestRebuildThatDiffersIsRefused(t *testing.T) {
	t.Parallel()
	for name, spoil := range map[string]func(*Item){
		"different hash": func(it *Item) { it.Rebuild.Message += "\nsomething else" },
		"different file": func(it *Item) { it.Rebuild.Edits[0].Content = append(it.Rebuild.Edits[0].Content, '\n') },
		"no recipe":      func(it *Item) { it.Rebuild = nil },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			x := setupTwoInstances(t, nil)
			it, err := x.a.Get(ctx, x.item.ID)
			if err != nil {
				t.Fatal(err)
			}
			spoil(it)
			if err := x.a.store.UpdateReview(ctx, it, Event{At: time.Now(), State: it.State, Note: "test: recipe spoiled"}); err != nil {
				t.Fatal(err)
			}
			_, err = x.b.Approve(ctx, x.item.ID, false)
			if !errors.Is(err, ErrRebuild) || !strings.Contains(err.Error(), x.item.Branch) || !strings.Contains(err.Error(), "restage") {
				t.Fatalf("approving a branch b cannot rebuild as staged: %v; want ErrRebuild naming the branch", err)
			}
			if name != "no recipe" && !strings.Contains(err.Error(), "not the staged "+short(x.item.Commit)) {
				t.Fatalf("the refusal does not say the hash differs: %v", err)
			}
			if n := x.pushes.Load(); n != 0 {
				t.Fatalf("%d pushes reached the remote", n)
			}
			got, err := x.b.Get(ctx, x.item.ID)
			if err != nil || got.State != api.ReviewStaged || got.Approving != nil {
				t.Fatalf("item after the refusal: %+v %v; want it staged, unclaimed", got, err)
			}
			if err := exec.Command("git", "-C", x.repos.remote, "rev-parse", "--verify", "-q", "refs/heads/"+x.item.Branch).Run(); err == nil {
				t.Fatalf("the branch reached the remote")
			}
		})
	}
}

// The recipe survives the store: deletions stay deletions, an empty file
// stays an empty file, the time keeps its zone.
func TestRecipeRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 3, 4, 5, 6, 7, 891, time.FixedZone("", -(3*3600+1800)))
	ed := edits{"b/gone.sql": nil, "a/empty.yml": {}, "c/x.yml": []byte("models: []\n")}
	r := newRecipe(ed, "msg", signature(&Config{}, when))
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Recipe
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got := back.edits()
	if len(got) != 3 || got["b/gone.sql"] != nil || got["a/empty.yml"] == nil || len(got["a/empty.yml"]) != 0 || string(got["c/x.yml"]) != "models: []\n" {
		t.Fatalf("edits after the round trip: %q", got)
	}
	if back.Edits[0].Path != "a/empty.yml" || back.Edits[2].Path != "c/x.yml" {
		t.Fatalf("edits not in path order: %+v", back.Edits)
	}
	sig := back.signature()
	if sig.Name != "Sluice" || !sig.When.Equal(when.Truncate(time.Second)) || sig.When.Format("-0700") != "-0330" {
		t.Fatalf("signature after the round trip: %+v", sig)
	}
}

// The item names the checkout it was staged from, a path on instance a's
// machine: b, where that path does not exist, uses its own checkout's
// scratch clone and still pushes a's commit.
func TestApproveOnABoxWithoutTheStagingCheckout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := setupTwoInstances(t, nil)
	if err := os.RemoveAll(x.repos.user); err != nil {
		t.Fatal(err)
	}
	if _, err := x.b.Approve(ctx, x.item.ID, false); err != nil {
		t.Fatalf("approving on b: %v", err)
	}
	if _, err := os.Stat(scratchDir(x.b.cfg.StateDir, repoKey(x.bRepo))); err != nil {
		t.Fatalf("b did not use its own checkout's scratch clone: %v", err)
	}
	x.check(t)
}
