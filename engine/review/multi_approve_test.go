package review

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// gitHTTPRemote serves a bare repository over smart HTTP with the real
// git-http-backend and counts the pushes that reach it: every push, even
// one with nothing to send, starts with the receive-pack advertisement.
func gitHTTPRemote(t *testing.T, bare string) (url string, pushes *atomic.Int64) {
	t.Helper()
	backend, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git --exec-path: %v", err)
	}
	bin := filepath.Join(strings.TrimSpace(string(backend)), "git-http-backend")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("git-http-backend not installed: %v", err)
	}
	runGit(t, bare, "config", "http.receivepack", "true")
	h := &cgi.Handler{Path: bin, Env: []string{
		"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	}}
	pushes = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("service") == "git-receive-pack" {
			pushes.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(bare), pushes
}

// twoInstances is one staged item and two review services (two
// instances: each its own state dir and connection pool) on one PostgreSQL
// database, pushing to a counting git remote and opening pull requests on
// a GitHub stand-in whose first POST waits for gate (nil: no wait).
type twoInstances struct {
	a, b    *Service
	item    *Item
	repos   gitRepos
	bRepo   string // instance b's checkout
	pushes  *atomic.Int64
	gh      *fakeGitHub
	arrived chan struct{} // the first pull request POST reached GitHub
}

func setupTwoInstances(t *testing.T, gate chan struct{}) *twoInstances {
	t.Helper()
	ctx := context.Background()
	url := pgtest.Database(t)
	x := &twoInstances{repos: newRepos(t, true), gh: &fakeGitHub{status: http.StatusCreated}, arrived: make(chan struct{})}
	var remote string
	remote, x.pushes = gitHTTPRemote(t, x.repos.remote)
	var posts atomic.Int64
	ghSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			close(x.arrived)
			if gate != nil {
				<-gate
			}
		}
		x.gh.ServeHTTP(w, r)
	}))
	t.Cleanup(ghSrv.Close)
	if gate != nil {
		// Cleanups run last first: a test that fails before opening the
		// gate still lets the held request end, so Close returns.
		t.Cleanup(func() {
			select {
			case <-gate:
			default:
				close(gate)
			}
		})
	}
	open := func(name string, cfg Config) *Service {
		db, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		cfg.StateDir, cfg.Remote, cfg.Approver = filepath.Join(t.TempDir(), name), remote, name
		cfg.GitHubAPIURL, cfg.GitHubRepo, cfg.Token, cfg.AllowHTTPLoopback = ghSrv.URL, "acme/dbt", testToken, true
		svc, err := New(cfg, NewSQLStore(db), slog.New(slog.NewTextHandler(&testLogWriter{t}, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	// The boxes differ in everything a commit records: b's author, its
	// clock (another second, another time zone — within the approval
	// lease). Only what the item stores can make b's commit a's.
	// Each box has its own checkout of the dbt repository, too.
	x.bRepo = filepath.Join(t.TempDir(), "dbt")
	runGit(t, filepath.Dir(x.bRepo), "clone", "-q", x.repos.remote, x.bRepo)
	x.a = open("instance-a", Config{Repo: x.repos.user})
	x.b = open("instance-b", Config{Repo: x.bRepo, AuthorName: "Box B", AuthorEmail: "b@example.com",
		Clock: skewedClock{90 * time.Second, time.FixedZone("IST", 5*3600+1800)}})
	var err error
	if x.item, err = x.a.StageDeprecation(ctx, testCandidates); err != nil {
		t.Fatal(err)
	}
	// Each box has its own scratch clone: b's holds nothing yet.
	if _, err := os.Stat(filepath.Join(x.b.cfg.StateDir, "review")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("instance b's scratch clone exists before it did anything: %v", err)
	}
	return x
}

// skewedClock is the real clock off by d, in another time zone.
type skewedClock struct {
	d   time.Duration
	loc *time.Location
}

func (c skewedClock) Now() time.Time                         { return time.Now().Add(c.d).In(c.loc) }
func (c skewedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// check asserts one push, one pull request, and the item as both
// instances read it: open, and refused a further approval.
func (x *twoInstances) check(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	x.gh.mu.Lock()
	created := len(x.gh.created)
	x.gh.mu.Unlock()
	if n := x.pushes.Load(); n != 1 || created != 1 {
		t.Fatalf("%d pushes reached the remote and %d pull requests were opened; want 1 and 1", n, created)
	}
	if got := runGit(t, x.repos.remote, "rev-parse", x.item.Branch); got != x.item.Commit {
		t.Fatalf("remote branch at %s, want %s", got, x.item.Commit)
	}
	for _, svc := range []*Service{x.a, x.b} {
		got, err := svc.Get(ctx, x.item.ID)
		if err != nil || got.State != api.ReviewPROpen || got.PRNumber != 42 || got.Commit != x.item.Commit {
			t.Fatalf("item as an instance reads it: %+v %v", got, err)
		}
		if got.Rebuild != nil {
			t.Fatalf("an item whose pull request is open still carries its rebuild recipe")
		}
		if _, err := svc.Approve(ctx, x.item.ID, false); !errors.Is(err, ErrState) {
			t.Fatalf("approving a PR that is open: %v", err)
		}
	}
	if n := x.pushes.Load(); n != 1 {
		t.Fatalf("%d pushes after the retries", n)
	}
}

// Two instances approve one item at the same moment: one versioned update
// takes the approval, the other pushes nothing and is told what the item
// now is.
func TestTwoInstancesApprovingAtOncePushOnceOpenOnePR(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := setupTwoInstances(t, nil)
	var wg sync.WaitGroup
	start := make(chan struct{})
	outs := make([]*Outcome, 2)
	errs := make([]error, 2)
	for i, svc := range []*Service{x.a, x.b} {
		wg.Go(func() {
			<-start
			outs[i], errs[i] = svc.Approve(ctx, x.item.ID, false)
		})
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			if won >= 0 {
				t.Fatalf("both instances approved: %+v, %+v", outs[0], outs[1])
			}
			won = i
		}
	}
	if won < 0 {
		t.Fatalf("neither approval succeeded: %v; %v", errs[0], errs[1])
	}
	if lost := errs[1-won]; !errors.Is(lost, ErrState) || !strings.Contains(lost.Error(), "it is ") {
		t.Fatalf("the losing approval: %v; want ErrState naming what the item is", lost)
	}
	if outs[won].Opened == nil || outs[won].Opened.Number != 42 || !outs[won].Push.Pushed {
		t.Fatalf("winning outcome %+v", outs[won])
	}
	x.check(t)
}

// The second instance approves while the first is mid-way (pushed, its
// pull request on its way): the item is approved, which alone once meant
// "left half done by a crash", and must not be finished a second time.
func TestApprovingAnItemAnotherInstanceIsApprovingIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gate := make(chan struct{})
	x := setupTwoInstances(t, gate)
	done := make(chan error, 1)
	go func() {
		_, err := x.a.Approve(ctx, x.item.ID, false)
		done <- err
	}()
	<-x.arrived
	_, err := x.b.Approve(ctx, x.item.ID, false)
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "being approved by instance-a") {
		t.Fatalf("approving mid-way through another instance's approval: %v; want ErrState naming instance-a", err)
	}
	if _, err := x.b.Reject(ctx, x.item.ID, ""); !errors.Is(err, ErrState) {
		t.Fatalf("rejecting mid-way through another instance's approval: %v", err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	x.check(t)
}

// An approval whose instance died mid-way is finished by another once the
// approval lease has passed.
func TestAbandonedApprovalIsFinishedAfterTheLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := setupTwoInstances(t, nil)
	it, err := x.a.Get(ctx, x.item.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Instance a took the approval and died before pushing.
	x.a.claimApproval(it)
	it.Approving.At = time.Now().Add(-DefaultApprovalLease - time.Second)
	if err := x.a.update(ctx, it, api.ReviewApproved, "approved"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.b.Approve(ctx, x.item.ID, false); err != nil {
		t.Fatalf("finishing an abandoned approval: %v", err)
	}
	x.check(t)
}
