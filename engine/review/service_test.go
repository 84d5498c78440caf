package review

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// A started service sees items another process (the CLI) changes in the
// shared store, and signals the change.
func TestStartedServicePicksUpOtherProcessesChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := t.TempDir()
	engineSvc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, StateDir: state, PollInterval: 10 * time.Millisecond})
	if err := engineSvc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer engineSvc.Stop()
	select { // Start's first load of an empty store changes nothing.
	case <-engineSvc.Changes():
	default:
	}

	// The "CLI": its own store handle and service on the same state dir.
	db, err := store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cli, err := New(Config{StateDir: state}, NewSQLStore(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	it, err := cli.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "Old", Reason: "not run for 101 days"}})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.EventuallyOn(t, engineSvc.Changes(), 10*time.Second, func() bool {
		r := engineSvc.Reviews()
		return len(r) == 1 && r[0].ID == it.ID && r[0].State == "staged"
	}, "the started service to see the new item")
	if _, err := cli.Reject(ctx, it.ID, ""); err != nil {
		t.Fatal(err)
	}
	enginetest.EventuallyOn(t, engineSvc.Changes(), 10*time.Second, func() bool {
		r := engineSvc.Reviews()
		return len(r) == 1 && r[0].State == "rejected"
	}, "the started service to see the rejection")
	engineSvc.Stop()
	engineSvc.Stop() // idempotent
}

func TestAuthByURL(t *testing.T) {
	t.Parallel()
	sc := &scratch{cfg: &Config{Token: "s3cr3t"}}
	a, err := sc.cfg.credentials().Auth("https://github.com/acme/dbt.git")
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := a.(*http.BasicAuth); !ok || b.Password != "s3cr3t" || strings.Contains(b.String(), "s3cr3t") {
		t.Errorf("https auth = %#v", a)
	}
	for _, u := range []string{"/srv/dbt.git", "file:///srv/dbt.git"} {
		if a, err := sc.cfg.credentials().Auth(u); a != nil || err != nil {
			t.Errorf("auth(%s) = %v, %v; want none", u, a, err)
		}
	}
	noToken := &scratch{cfg: &Config{}}
	if a, err := noToken.cfg.credentials().Auth("https://github.com/acme/dbt.git"); a != nil || err != nil {
		t.Errorf("https without a token = %v, %v; want none", a, err)
	}
	// The configured API's host is a GitHub host (Enterprise); another is not.
	ghe := &scratch{cfg: &Config{Token: "s3cr3t", GitHubAPIURL: "https://ghe.acme.example/api/v3"}}
	if a, err := ghe.cfg.credentials().Auth("https://ghe.acme.example/acme/dbt.git"); a == nil || err != nil {
		t.Errorf("the API's host gets no token: %v, %v", a, err)
	}
	if a, err := ghe.cfg.credentials().Auth("https://git.other.example/acme/dbt.git"); a != nil || err != nil {
		t.Errorf("another host gets %v, %v; want none", a, err)
	}
	badKey := &scratch{cfg: &Config{SSHKeyPath: "/nonexistent/key"}}
	if _, err := badKey.cfg.credentials().Auth("git@github.com:acme/dbt.git"); err == nil {
		t.Error("a missing SSH key file is not an error")
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ dir, in, want string }{
		{"", "models/a.sql", "models/a.sql"},
		{"transform", "models/a.sql", "transform/models/a.sql"},
		{"transform/", "./models/a.sql", "transform/models/a.sql"},
	} {
		if got := repoPath(tt.dir, tt.in); got != tt.want {
			t.Errorf("repoPath(%q, %q) = %q, want %q", tt.dir, tt.in, got, tt.want)
		}
	}
	if got := stripPackage("jaffle_shop://models/schema.yml"); got != "models/schema.yml" {
		t.Errorf("stripPackage = %q", got)
	}
	if got := stripPackage("models/schema.yml"); got != "models/schema.yml" {
		t.Errorf("stripPackage = %q", got)
	}
}
