package review

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// gitHTTP is a smart-HTTP git server (git http-backend) that, like GitHub
// for a private repository, answers 401 to anonymous requests. It records
// the Authorization header of every request, in order.
type gitHTTP struct {
	url   string // of the served repository
	mu    sync.Mutex
	seen  []string
	token string
}

func newGitHTTP(t *testing.T, bare, host string) *gitHTTP {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("no git: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("no git-http-backend: %v", err)
	}
	g := &gitHTTP{token: testToken}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		g.mu.Lock()
		g.seen = append(g.seen, auth)
		g.mu.Unlock()
		user, pass, ok := r.BasicAuth()
		if !ok || pass != g.token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h := &cgi.Handler{Path: backend, Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user,
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		}}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	g.url = "http://" + host + ":" + port + "/" + filepath.Base(bare)
	return g
}

func (g *gitHTTP) headers() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

func TestTokenGoesOnlyToGitHubHostsAfterChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     string // the remote's host as written in its URL
		cfg      Config
		wantSent bool
	}{
		{"configured host over loopback HTTP, allowed", "127.0.0.1",
			Config{GitHubAPIURL: "http://127.0.0.1:1/api/v3", AllowHTTPLoopback: true}, true},
		{"configured host over plain HTTP, not allowed", "127.0.0.1",
			Config{GitHubAPIURL: "http://127.0.0.1:1/api/v3"}, false},
		{"another host", "localhost",
			Config{GitHubAPIURL: "http://127.0.0.1:1/api/v3", AllowHTTPLoopback: true}, false},
		{"another host, explicitly allowed", "localhost",
			Config{GitHubAPIURL: "http://127.0.0.1:1/api/v3", AllowHTTPLoopback: true, TokenHosts: []string{"localhost"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repos := newRepos(t, true)
			g := newGitHTTP(t, repos.remote, tc.host)
			cfg := tc.cfg
			cfg.Repo, cfg.Remote, cfg.Token = repos.user, g.url, testToken
			svc, _ := setup(t, cfg)
			it, err := svc.StageDeprecation(ctx, testCandidates[:1])
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.Approve(ctx, it.ID, false)
			seen := g.headers()
			if len(seen) == 0 || seen[0] != "" {
				t.Fatalf("first request carried credentials before any challenge: %q", seen)
			}
			// The fake answers every anonymous request with 401, so
			// credentials after an anonymous first request followed a
			// challenge.
			sent := false
			for _, h := range seen {
				sent = sent || h != ""
			}
			if sent != tc.wantSent {
				t.Fatalf("token sent = %v, want %v (headers %q)", sent, tc.wantSent, seen)
			}
			if !tc.wantSent {
				if err == nil || !strings.Contains(err.Error(), "authentication required") {
					t.Fatalf("approve without credentials = %v, want the remote's 401", err)
				}
				if !strings.Contains(err.Error(), "sent only to") {
					t.Errorf("the error does not say why the token was withheld: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if runGit(t, repos.remote, "rev-parse", it.Branch) != it.Commit {
				t.Error("branch not pushed")
			}
		})
	}
}

func TestAPITokenOnlyToConfiguredHostOverHTTPS(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string][]string{} // by server
	record := func(name string, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen[name] = append(seen[name], r.Header.Get("Authorization"))
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("plain", r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Requires authentication"}`)
	}))
	t.Cleanup(plain.Close)
	elsewhere := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
	// The configured API, over HTTPS, redirects to another host.
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("api", r)
		http.Redirect(w, r, elsewhere+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	pr := PullRequest{Owner: "acme", Repo: "dbt", Title: "t", Head: "h", Base: "main"}
	for _, cfg := range []Config{
		{GitHubAPIURL: plain.URL, Token: testToken},                         // plain HTTP
		{GitHubAPIURL: api.URL, Token: testToken, HTTPClient: api.Client()}, // HTTPS, then a redirect
	} {
		c, err := newGitHubClient(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.open(context.Background(), pr); err == nil {
			t.Fatal("the fake accepted the request")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := seen["api"]; len(got) != 1 || got[0] != "Bearer "+testToken {
		t.Errorf("the configured HTTPS API saw %q, want the token once", got)
	}
	if got := seen["plain"]; len(got) != 2 || got[0] != "" || got[1] != "" {
		t.Errorf("plain HTTP and the redirect target saw %q, want no credentials", got)
	}
}

func TestPushRejectedShowsTheRemotesMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	hook := filepath.Join(repos.remote, "hooks", "pre-receive")
	writeFile(t, hook, "#!/bin/sh\necho 'policy: branches need a ticket number (JIRA-123)' >&2\nexit 1\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	g := newGitHTTP(t, repos.remote, "127.0.0.1")
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, Remote: g.url, Token: testToken,
		GitHubAPIURL: "http://127.0.0.1:1/", AllowHTTPLoopback: true})
	it, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil {
		t.Fatal(err)
	}
	out, err := svc.Approve(ctx, it.ID, false)
	if err == nil {
		t.Fatal("a push the remote refused was reported as done")
	}
	if !strings.Contains(err.Error(), "branches need a ticket number (JIRA-123)") {
		t.Errorf("the error lacks the remote's own message: %v", err)
	}
	if out == nil || out.Push == nil || out.Push.Pushed {
		t.Fatalf("outcome says pushed: %+v", out)
	}
	got, _ := svc.Get(ctx, it.ID)
	if got.State != api.ReviewStaged || !strings.Contains(got.Error, "JIRA-123") {
		t.Errorf("item %s %q, want staged with the remote's message", got.State, got.Error)
	}
}

func TestReviewHistoryRedactsEchoedToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	echo := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + testToken))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"message":"Validation Failed: token %s (basic %s) cannot open this","errors":[{"message":"%s"}]}`,
			testToken, echo, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	t.Cleanup(srv.Close)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true})
	it, err := svc.StageDeprecation(ctx, testCandidates[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, it.ID, false); err == nil {
		t.Fatal("approve succeeded against a 422")
	}
	got, err := svc.Get(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored := got.Error
	for _, ev := range got.History {
		stored += "\n" + ev.Note
	}
	if !strings.Contains(stored, "Validation Failed") {
		t.Fatalf("the failure was not stored: %s", stored)
	}
	for _, leak := range []string{testToken, echo} {
		if strings.Contains(stored, leak) {
			t.Fatalf("review history holds %q:\n%s", leak, stored)
		}
	}
}
