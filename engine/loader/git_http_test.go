package loader

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/gitauth"
)

const gitTestToken = "ghp_loopbacktesttoken0123456789"

// gitHTTPServer serves a bare repository over smart HTTP (git
// http-backend through CGI) on loopback and, like a private GitHub
// repository, answers 401 to requests without the token. It records the
// Authorization header of every request.
type gitHTTPServer struct {
	url  string
	mu   sync.Mutex
	seen []string
}

func newGitHTTPServer(t *testing.T, bare string) *gitHTTPServer {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("no git: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("no git-http-backend: %v", err)
	}
	g := &gitHTTPServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.seen = append(g.seen, r.Header.Get("Authorization"))
		g.mu.Unlock()
		if _, pass, ok := r.BasicAuth(); !ok || pass != gitTestToken {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		(&cgi.Handler{Path: backend, Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		}}).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL + "/" + filepath.Base(bare)
	return g
}

func (g *gitHTTPServer) headers() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

func TestGitOverHTTPTokenAfterChallengeNeverLogged(t *testing.T) {
	t.Parallel()
	g := newGitRemote(t)
	first := g.commit("first", map[string]string{"dags/a.json": dagJSON("a v1", 2)})
	srv := newGitHTTPServer(t, g.bare)

	t.Run("allowed host", func(t *testing.T) {
		log, buf := testLogger()
		cfg := gitConfig(srv.url, "main", "dags", t.TempDir())
		cfg.ScanInterval = 20 * time.Millisecond
		cfg.GitCredentials = gitauth.Credentials{Token: gitTestToken, TokenHosts: []string{"127.0.0.1"}, AllowHTTPLoopback: true}
		l, err := New(cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		startLoader(t, l)
		// The initial fetch runs in the background, then on the interval.
		waitFor(t, l, "a from the first commit", func(ds []api.DAG) bool {
			d, ok := entry(ds, "a", "")
			return ok && d.Status == api.DAGActive && d.Origin != nil && d.Origin.Hash == first
		})
		second := g.commit("second", map[string]string{"dags/a.json": dagJSON("a v2", 2)})
		waitFor(t, l, "a from the second commit on the scan interval", func(ds []api.DAG) bool {
			d, ok := entry(ds, "a", "")
			return ok && d.Origin != nil && d.Origin.Hash == second && d.Def.Description == "a v2"
		})
		seen := srv.headers()
		if len(seen) == 0 || seen[0] != "" {
			t.Fatalf("the first request carried credentials before any challenge: %q", seen)
		}
		if !strings.Contains(strings.Join(seen, "\n"), "Basic ") {
			t.Fatalf("the token was never sent after the challenge: %q", seen)
		}
		l.Stop()
		if strings.Contains(buf.String(), gitTestToken) {
			t.Fatalf("the token is in the log:\n%s", buf.String())
		}
		if !strings.Contains(buf.String(), "dag source at a new commit") {
			t.Fatalf("the new commit is not logged:\n%s", buf.String())
		}
	})

	t.Run("host not allowed", func(t *testing.T) {
		before := len(srv.headers())
		cfg := gitConfig(srv.url, "main", "dags", t.TempDir())
		// 127.0.0.1 is not a token host: the token stays home.
		cfg.GitCredentials = gitauth.Credentials{Token: gitTestToken, AllowHTTPLoopback: true}
		l, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.ScanNow(context.Background())
		if err == nil || !strings.Contains(err.Error(), "token hosts") {
			t.Fatalf("scan with a host the token is not for: %v", err)
		}
		if strings.Contains(err.Error(), gitTestToken) {
			t.Fatalf("the error shows the token: %v", err)
		}
		for _, h := range srv.headers()[before:] {
			if h != "" {
				t.Fatalf("credentials sent to a host they are not for: %q", h)
			}
		}
		if len(l.DAGs()) != 0 {
			t.Fatalf("DAGs from a failed fetch:\n%s", dump(l.DAGs()))
		}
	})
}
