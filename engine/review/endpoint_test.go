package review

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// The endpoint an item remembers from staging (a demo's GitHub stand-in,
// long gone) never overrides the configuration in force: a configured API
// is used, and with none configured, GitHub's own. The item still shows
// what it remembers.
func TestConfiguredGitHubWinsOverTheItemsMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // the stand-in the item was staged with is gone
	stager, db := setup(t, Config{Repo: repos.user, GitHubAPIURL: dead.URL, GitHubRepo: "acme/dbt", Token: testToken})
	it, err := stager.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if it.GitHubAPI != dead.URL {
		t.Fatalf("the item remembers %q, want %q", it.GitHubAPI, dead.URL)
	}
	if snap := it.Snapshot(); snap.GitHubAPI != dead.URL {
		t.Errorf("the read model does not show the remembered endpoint: %q", snap.GitHubAPI)
	}

	// No endpoint configured now: GitHub's own, not the remembered one.
	plain, err := New(Config{StateDir: stager.cfg.StateDir, Repo: repos.user}, NewSQLStore(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := plain.github(it)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.gh.BaseURL.String(); got != "https://api.github.com/" {
		t.Errorf("with no endpoint configured the client calls %s", got)
	}

	// A live endpoint configured now: the pull request is opened there.
	gh := &fakeGitHub{}
	live := httptest.NewServer(gh)
	t.Cleanup(live.Close)
	now, err := New(Config{StateDir: stager.cfg.StateDir, Repo: repos.user, GitHubAPIURL: live.URL, Token: testToken}, NewSQLStore(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := now.Approve(ctx, it.ID, false); err != nil {
		t.Fatal(err)
	}
	got, _ := now.Get(ctx, it.ID)
	if got.State != api.ReviewPROpen || len(gh.created) != 1 {
		t.Errorf("state %s, %d pull requests at the configured endpoint", got.State, len(gh.created))
	}
}
