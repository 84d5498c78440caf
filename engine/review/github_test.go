package review

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

const testToken = "ghp_test_secret_token_value"

// fakeGitHub answers the pulls endpoints in GitHub's REST shape.
type fakeGitHub struct {
	mu       sync.Mutex
	status   int // what POST /pulls answers: 201, 422 or 401
	created  []map[string]any
	lists    []string // query strings of GET /pulls
	authSeen []string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authSeen = append(f.authSeen, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.Method == http.MethodGet && r.URL.Path == "/repos/acme/dbt" {
		// What a dry run asks: the token's view of the repository.
		if f.status == http.StatusUnauthorized {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`)
			return
		}
		io.WriteString(w, `{"id":1,"full_name":"acme/dbt","permissions":{"pull":true,"push":true}}`)
		return
	}
	if r.URL.Path != "/repos/acme/dbt/pulls" {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)
		return
	}
	switch r.Method {
	case http.MethodPost:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		switch f.status {
		case http.StatusUnauthorized:
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`)
			return
		case http.StatusInternalServerError:
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"message":"Server Error"}`)
			return
		case http.StatusUnprocessableEntity:
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:%s."}],"documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"422"}`, body["head"])
			return
		}
		f.created = append(f.created, body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"url":"https://api.github.com/repos/acme/dbt/pulls/42","id":1,"node_id":"PR_x","html_url":"https://github.com/acme/dbt/pull/42","number":42,"state":"open","locked":false,"title":%q,"draft":%v,"head":{"label":"acme:%s","ref":%q},"base":{"label":"acme:main","ref":"main"}}`,
			body["title"], body["draft"], body["head"], body["head"])
	case http.MethodGet:
		f.lists = append(f.lists, r.URL.RawQuery)
		io.WriteString(w, `[{"url":"https://api.github.com/repos/acme/dbt/pulls/7","id":2,"html_url":"https://github.com/acme/dbt/pull/7","number":7,"state":"open","title":"earlier"}]`)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func TestApproveOpensPullRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	gh := &fakeGitHub{status: http.StatusUnauthorized}
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true, Draft: true,
		ApprovedFrom: "the command line"})
	svc.log = slogTo(&logs)
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}

	dry, err := svc.Approve(ctx, it.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if dry.PR == nil || dry.PR.Owner != "acme" || dry.PR.Head != it.Branch || dry.PR.Base != "main" || !dry.PR.Draft {
		t.Fatalf("dry-run PR = %+v", dry.PR)
	}
	for _, s := range []string{"`stg_payments`", "no downstream consumer", "0.1250", "`models/staging/stg_payments.sql`", "Importance", "approved from the command line."} {
		if !strings.Contains(dry.PR.Body, s) {
			t.Errorf("PR body lacks %q:\n%s", s, dry.PR.Body)
		}
	}
	if len(gh.created) != 0 {
		t.Fatal("a dry run posted a pull request")
	}
	// The dry run asked GitHub with the approval's token, which GitHub
	// refuses: it says the pull request would not open.
	if len(gh.authSeen) != 1 || gh.authSeen[0] != "Bearer "+testToken {
		t.Errorf("dry run's GitHub requests carried %q, want one with the token", gh.authSeen)
	}
	if !strings.Contains(dry.PR.Warning, "would not open") || !strings.Contains(dry.PR.Warning, "401") {
		t.Errorf("dry run against a GitHub refusing the token warns %q", dry.PR.Warning)
	}
	if strings.Contains(dry.PR.Warning, testToken) {
		t.Errorf("the warning shows the token: %q", dry.PR.Warning)
	}
	gh.authSeen = nil

	// 401: the branch is pushed, the pull request is not; the item fails
	// with an error that says what to fix and never shows the token.
	_, err = svc.Approve(ctx, it.ID, false)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Fatalf("approve with a bad token = %v", err)
	}
	// One context per layer: the item and its history say what failed once.
	if n := strings.Count(err.Error(), "opening the pull request"); n != 1 {
		t.Errorf("the error says 'opening the pull request' %d times: %v", n, err)
	}
	got, _ := svc.Get(ctx, it.ID)
	if last := got.History[len(got.History)-1].Note; strings.Count(last, "pull request") != 1 || strings.Count(got.Error, "pull request") != 1 {
		t.Errorf("history note %q, item error %q: want 'pull request' once each", last, got.Error)
	}
	if got.State != api.ReviewFailed || got.URL != "" {
		t.Errorf("after 401: state %s url %q, want failed", got.State, got.URL)
	}
	if runGit(t, repos.remote, "rev-parse", it.Branch) != it.Commit {
		t.Error("branch not pushed before the pull request")
	}
	for _, s := range []string{err.Error(), got.Error, logs.String()} {
		if strings.Contains(s, testToken) {
			t.Fatalf("token leaked: %s", s)
		}
	}
	if gh.authSeen[0] != "Bearer "+testToken {
		t.Errorf("Authorization %q", gh.authSeen[0])
	}

	// Retry once the token is fixed: the push is a no-op, the PR opens.
	gh.mu.Lock()
	gh.status = http.StatusCreated
	gh.mu.Unlock()
	out, err := svc.Approve(ctx, it.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Item.State != api.ReviewPROpen || out.Item.URL != "https://github.com/acme/dbt/pull/42" || out.Item.PRNumber != 42 {
		t.Errorf("after retry: %s %s #%d", out.Item.State, out.Item.URL, out.Item.PRNumber)
	}
	if len(gh.created) != 1 {
		t.Fatalf("%d pull requests created", len(gh.created))
	}
	body := gh.created[0]
	if body["title"] != it.Title || body["head"] != it.Branch || body["base"] != "main" || body["draft"] != true || !strings.Contains(body["body"].(string), "legacy_report") {
		t.Errorf("posted %v", body)
	}
	if snap := svc.Reviews(); snap[0].URL != "https://github.com/acme/dbt/pull/42" || snap[0].State != "pr-open" {
		t.Errorf("snapshot %+v", snap[0])
	}
}

func TestApproveFindsExistingPullRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	gh := &fakeGitHub{status: http.StatusUnprocessableEntity}
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true})
	it, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil {
		t.Fatal(err)
	}
	out, err := svc.Approve(ctx, it.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Opened == nil || !out.Opened.Existed || out.Item.URL != "https://github.com/acme/dbt/pull/7" || out.Item.State != api.ReviewPROpen {
		t.Errorf("outcome %+v item %s %s", out.Opened, out.Item.State, out.Item.URL)
	}
	if len(gh.lists) != 1 || !strings.Contains(gh.lists[0], "head=acme%3A"+strings.ReplaceAll(it.Branch, "/", "%2F")) || !strings.Contains(gh.lists[0], "state=open") {
		t.Errorf("lookup queries %v", gh.lists)
	}
}

func TestGitHubRepoFromURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url         string
		anyHost     bool
		owner, repo string
		ok          bool
	}{
		{"https://github.com/acme/dbt.git", false, "acme", "dbt", true},
		{"https://x-access-token:abc@github.com/acme/dbt", false, "acme", "dbt", true},
		{"git@github.com:acme/dbt.git", false, "acme", "dbt", true},
		{"ssh://git@github.com/acme/dbt.git", false, "acme", "dbt", true},
		{"https://git.corp.example/data/dbt.git", false, "", "", false},
		{"https://git.corp.example/data/dbt.git", true, "data", "dbt", true},
		{"file:///srv/git/dbt.git", true, "", "", false},
		{"/srv/git/dbt.git", true, "", "", false},
		{"https://github.com/acme", false, "", "", false},
	}
	for _, tt := range tests {
		owner, repo, ok := githubRepoFromURL(tt.url, tt.anyHost)
		if owner != tt.owner || repo != tt.repo || ok != tt.ok {
			t.Errorf("githubRepoFromURL(%q, %v) = %q %q %v", tt.url, tt.anyHost, owner, repo, ok)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:secret@github.com/a/b.git": "https://***@github.com/a/b.git",
		"https://github.com/a/b.git":             "https://github.com/a/b.git",
		"git@github.com:a/b.git":                 "git@github.com:a/b.git",
		"/srv/x@y/repo":                          "/srv/x@y/repo",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithoutPassword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://x-access-token:ghp_abc@github.com/a/b.git": "https://x-access-token@github.com/a/b.git",
		"ssh://git@github.com/a/b.git":                      "ssh://git@github.com/a/b.git",
		"https://github.com/a/b@c.git":                      "https://github.com/a/b@c.git",
		"/srv/repo":                                         "/srv/repo",
	} {
		if got := withoutPassword(in); got != want {
			t.Errorf("withoutPassword(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPRErrorsAreSentinels(t *testing.T) {
	t.Parallel()
	if !errors.Is(fmt.Errorf("x: %w", ErrPRExists), ErrPRExists) {
		t.Fatal("ErrPRExists does not wrap")
	}
}

// A pull request GitHub fails to open for no reason it names (500) is
// said once per layer: "opening the pull request: acme/dbt: POST …: 500",
// not "opening the pull request failed: opening the pull request on …".
func TestApprovePullRequestErrorSaidOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	srv := httptest.NewServer(&fakeGitHub{status: http.StatusInternalServerError})
	t.Cleanup(srv.Close)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Approve(ctx, it.ID, false)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("approve against a failing GitHub = %v", err)
	}
	got, _ := svc.Get(ctx, it.ID)
	note := got.History[len(got.History)-1].Note
	for _, text := range []string{err.Error(), got.Error, note} {
		if n := strings.Count(text, "pull request"); n != 1 {
			t.Errorf("%q says 'pull request' %d times", text, n)
		}
	}
}
