package review

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"gopkg.in/yaml.v3"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

// branchFile reads a file of an item's staged commit.
func branchFile(t *testing.T, svc *Service, it *Item, p string) (string, bool) {
	t.Helper()
	sc, err := svc.itemScratch(it)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sc.repo.CommitObject(plumbing.NewHash(it.Commit))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := fileContent(tree, p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), ok
}

// Phase one, by default, disables the models in their properties YAML
// with a deprecation date, keeping every comment, and deletes nothing.
func TestPhaseOneDisablesInPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{Repo: repos.user, QuietDays: 30})
	it, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if it.State != api.ReviewStaged || it.Mode != DeprecateDisable || !strings.HasPrefix(it.Title, "Deprecate 3 unused dbt models") {
		t.Fatalf("item: %s %s %q %v", it.State, it.Mode, it.Title, it.Blocked)
	}
	for _, f := range it.Files {
		if f.Action != FileModified {
			t.Errorf("phase one must only modify files: %+v", f)
		}
	}
	schema, _ := branchFile(t, svc, it, "models/staging/schema.yml")
	for _, want := range []string{"# Payments arrive from Stripe a day late.", "# Staging models: one per raw table", "  - name: stg_customers # one row per customer",
		"    deprecation_date: 2026-02-01"} {
		if !strings.Contains(schema, want) {
			t.Errorf("schema.yml lacks %q:\n%s", want, schema)
		}
	}
	var doc struct {
		Models []struct {
			Name            string
			DeprecationDate string `yaml:"deprecation_date"`
			Config          struct{ Enabled *bool }
			Columns         []any
		}
	}
	if err := yaml.Unmarshal([]byte(schema), &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range doc.Models {
		disabled := m.Config.Enabled != nil && !*m.Config.Enabled
		if disabled != (m.Name == "stg_payments") || (m.Name == "stg_payments" && (m.DeprecationDate != "2026-02-01" || len(m.Columns) != 1)) {
			t.Errorf("%s: disabled %v, date %q, columns %d", m.Name, disabled, m.DeprecationDate, len(m.Columns))
		}
	}
	if sql, ok := branchFile(t, svc, it, "models/staging/stg_payments.sql"); !ok || strings.Contains(sql, "config(") {
		t.Errorf("the model's SQL must stay as it was: %v %q", ok, sql)
	}
	if len(it.Candidates) != 3 {
		t.Errorf("candidates kept for phase two: %d", len(it.Candidates))
	}
}

// A kept model that refs a model phase one disables is a dangling ref: the
// item is blocked with the file and line.
func TestPhaseOneBlocksRefToDisabledModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{Repo: repos.user})
	cands := []Candidate{{UniqueID: "model.jaffle_shop.stg_customers", Name: "stg_customers", Files: []string{"models/staging/stg_customers.sql"},
		PatchPath: "jaffle_shop://models/staging/schema.yml"}, testCandidates[0]}
	it, err := svc.StageDeprecation(ctx, cands)
	if err != nil {
		t.Fatal(err)
	}
	if it.State != api.ReviewBlocked || len(it.Blocked) != 1 ||
		it.Blocked[0] != "models/marts/customers.sql:1: ref('stg_customers') no longer resolves: the branch disables stg_customers" {
		t.Fatalf("blocked: %s %q", it.State, it.Blocked)
	}
}

// The folder mode moves the files to a deprecated/ folder, disabled there;
// refs between two candidates do not count.
func TestPhaseOneFolderMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	svc, _ := setup(t, Config{Repo: repos.user, DeprecateMode: DeprecateFolder})
	cands := []Candidate{{UniqueID: "model.jaffle_shop.customers", Name: "customers", Files: []string{"models/marts/customers.sql"}},
		{UniqueID: "model.jaffle_shop.stg_customers", Name: "stg_customers", Files: []string{"models/staging/stg_customers.sql"}}}
	it, err := svc.StageDeprecation(ctx, cands)
	if err != nil {
		t.Fatal(err)
	}
	if it.State != api.ReviewStaged {
		t.Fatalf("state %s: %q", it.State, it.Blocked)
	}
	moved, ok := branchFile(t, svc, it, "models/deprecated/marts/customers.sql")
	if !ok || !strings.HasPrefix(moved, "{{ config(enabled=false) }}") || !strings.Contains(moved, "ref('stg_customers')") {
		t.Errorf("moved file: %v %q", ok, moved)
	}
	if _, ok := branchFile(t, svc, it, "models/marts/customers.sql"); ok {
		t.Error("the original file stayed")
	}
}

// testClock is a clock the test moves by hand; After never fires.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time                       { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) After(time.Duration) <-chan time.Time { return nil }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The two phases across a simulated quiet period: phase one's pull request
// merges on the GitHub stand-in; during the quiet period nothing follows;
// after it, the deletion is staged as a new item that follows the first —
// without the models that found a new consumer meanwhile.
func TestTwoPhaseDeprecation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		consumers map[string][]string
		want      []string // models phase two deletes; nil: no phase two
	}{
		{"quiet", map[string][]string{}, []string{"legacy_report", "old_only", "stg_payments"}},
		{"one new consumer", map[string][]string{"stg_payments": {"BI query Finance / payments reads analytics.stg_payments"}}, []string{"legacy_report", "old_only"}},
		{"all consumed", map[string][]string{"stg_payments": {"x"}, "model.jaffle_shop.legacy_report": {"y"}, "old_only": {"z"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repos := newRepos(t, true)
			gh := newPRGitHub()
			srv := httptest.NewServer(gh)
			t.Cleanup(srv.Close)
			clk := &testClock{t: testNow}
			svc, _ := setup(t, Config{Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true,
				QuietDays: 30, Clock: clk})

			first, err := svc.StageDeprecation(ctx, testCandidates)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Approve(ctx, first.ID, false); err != nil {
				t.Fatal(err)
			}
			first, _ = svc.Get(ctx, first.ID)
			// The reviewer merges: on the remote, and on the stand-in.
			runGit(t, repos.remote, "update-ref", "refs/heads/main", first.Commit)
			gh.set(first.PRNumber, func(pr *fakePR) { pr.state, pr.merged, pr.mergedAt = "closed", true, "2026-01-03T10:00:00Z" })
			clk.add(24 * time.Hour)

			run := func() []*Item {
				t.Helper()
				// What the metapipeline does on each run: follow, then stage.
				if _, err := svc.FollowPullRequests(ctx); err != nil {
					t.Fatal(err)
				}
				items, err := svc.Stage(ctx, Proposal{Deprecate: []Candidate{}, Consumers: tc.consumers})
				if err != nil {
					t.Fatal(err)
				}
				return items
			}
			if items := run(); len(items) != 0 {
				t.Fatalf("during the quiet period: %+v", items)
			}
			if got, _ := svc.Get(ctx, first.ID); got.State != api.ReviewMerged {
				t.Fatalf("phase one: %s", got.State)
			}
			clk.add(29 * 24 * time.Hour)
			if items := run(); len(items) != 0 {
				t.Fatalf("a day before the quiet period ends: %+v", items)
			}
			clk.add(24 * time.Hour)
			items := run()
			if tc.want == nil {
				if len(items) != 0 {
					t.Fatalf("phase two despite new consumers: %+v", items[0].Subjects)
				}
				got, _ := svc.Get(ctx, first.ID)
				if last := got.History[len(got.History)-1]; !strings.Contains(last.Note, "second phase: old_only has a new consumer since: z") {
					t.Errorf("phase one's history: %q", last.Note)
				}
				return
			}
			if len(items) != 1 {
				t.Fatalf("phase two: %d items", len(items))
			}
			second := items[0]
			var names []string
			for _, s := range second.Subjects {
				names = append(names, s.Name)
			}
			slices.Sort(names)
			if second.Kind != KindDelete || second.Follows != first.ID || second.State != api.ReviewStaged || !slices.Equal(names, tc.want) {
				t.Fatalf("phase two: %s follows %d, %s, %v %q", second.Kind, second.Follows, second.State, names, second.Blocked)
			}
			for _, n := range tc.want {
				f := map[string]string{"stg_payments": "models/staging/stg_payments.sql", "legacy_report": "models/marts/legacy_report.sql", "old_only": "models/legacy/old_only.sql"}[n]
				if _, ok := branchFile(t, svc, second, f); ok {
					t.Errorf("phase two keeps %s", f)
				}
			}
			if !strings.HasPrefix(second.Title, "Delete ") || !strings.Contains(prBody(second, ""), "Second phase of review") {
				t.Errorf("title %q", second.Title)
			}
			// The next run finds it staged: no second follow-up.
			if again := run(); len(again) != 1 || again[0].ID != second.ID {
				t.Errorf("re-run: %+v", again)
			}
		})
	}
}

// Mode reports: archived first, then, after the quiet period, deleted
// through DELETE /api/{workspace}/reports/{token} on approval — except a
// report that became active again.
func TestReportDeletionAfterArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch r.Method {
		case http.MethodPatch:
			w.Write([]byte(`{"token":"x","archived":true}`))
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	client, err := mode.New(mode.Config{BaseURL: srv.URL + "/api", Workspace: "acme", Token: "t", Secret: "s", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: testNow}
	svc, _ := setup(t, Config{Archiver: client, Clock: clk})
	stale := []StaleReport{{Token: "aaa111", Name: "Old KPIs", Reason: "not run for 143 days"}, {Token: "bbb222", Name: "Churn", Reason: "not run for 120 days"}}
	first, err := svc.StageArchive(ctx, stale)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, first.ID, false); err != nil {
		t.Fatal(err)
	}
	// Churn is run again during the quiet period: an active report.
	consumers := map[string][]string{"bbb222": {"active Mode report"}}
	clk.add(29 * 24 * time.Hour)
	if items, err := svc.Stage(ctx, Proposal{Stale: []StaleReport{}, Consumers: consumers}); err != nil || len(items) != 0 {
		t.Fatalf("during the quiet period: %v %+v", err, items)
	}
	clk.add(2 * 24 * time.Hour)
	items, err := svc.Stage(ctx, Proposal{Stale: []StaleReport{}, Consumers: consumers})
	if err != nil || len(items) != 1 {
		t.Fatalf("after the quiet period: %v %d", err, len(items))
	}
	second := items[0]
	if second.Kind != KindDeleteReports || second.Follows != first.ID || len(second.Subjects) != 1 || second.Subjects[0].ID != "aaa111" {
		t.Fatalf("second phase: %+v", second)
	}
	if _, err := svc.Approve(ctx, second.ID, false); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Get(ctx, second.ID)
	mu.Lock()
	defer mu.Unlock()
	if got.State != api.ReviewDeleted || got.Subjects[0].Result != ResultDeleted || calls[len(calls)-1] != "DELETE /api/acme/reports/aaa111" {
		t.Errorf("deleted: %s %+v %q", got.State, got.Subjects, calls)
	}
	for _, c := range calls {
		if c == "DELETE /api/acme/reports/bbb222" {
			t.Error("the active report was deleted")
		}
	}
}

// A second phase whose pull request a reviewer closed unmerged is declined:
// the deletion is not proposed again during the reconsider period, and is
// after it (a new item following the same first phase).
func TestDeclinedSecondPhaseComesBackAfterTheReconsiderPeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	gh := newPRGitHub()
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	clk := &testClock{t: testNow}
	svc, _ := setup(t, Config{Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true,
		QuietDays: 30, ReconsiderDays: 10, Clock: clk})
	run := func() []*Item {
		t.Helper()
		if _, err := svc.FollowPullRequests(ctx); err != nil {
			t.Fatal(err)
		}
		items, err := svc.Stage(ctx, Proposal{Deprecate: []Candidate{}, Consumers: map[string][]string{}})
		if err != nil {
			t.Fatal(err)
		}
		return items
	}

	first, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, first.ID, false); err != nil {
		t.Fatal(err)
	}
	first, _ = svc.Get(ctx, first.ID)
	runGit(t, repos.remote, "update-ref", "refs/heads/main", first.Commit)
	gh.set(first.PRNumber, func(pr *fakePR) { pr.state, pr.merged, pr.mergedAt = "closed", true, "2026-01-03T10:00:00Z" })
	if items := run(); len(items) != 0 {
		t.Fatalf("phase two before the quiet period: %+v", items)
	}
	clk.add(31 * 24 * time.Hour)
	items := run()
	if len(items) != 1 || items[0].Kind != KindDelete || items[0].Follows != first.ID {
		t.Fatalf("phase two: %+v", items)
	}
	second := items[0]
	if _, err := svc.Approve(ctx, second.ID, false); err != nil {
		t.Fatal(err)
	}
	second, _ = svc.Get(ctx, second.ID)
	gh.set(second.PRNumber, func(pr *fakePR) { pr.state, pr.clAt = "closed", "2026-02-04T10:00:00Z" })

	clk.add(24 * time.Hour)
	if items := run(); len(items) != 0 {
		t.Fatalf("staged again right after the decline: %+v", items[0])
	}
	if got, _ := svc.Get(ctx, second.ID); got.State != api.ReviewDeclined {
		t.Fatalf("second phase: %s", got.State)
	}
	clk.add(8 * 24 * time.Hour)
	if items := run(); len(items) != 0 {
		t.Fatalf("staged again within the reconsider period: %+v", items[0])
	}
	clk.add(2 * 24 * time.Hour)
	items = run()
	if len(items) != 1 || items[0].ID == second.ID || items[0].Kind != KindDelete || items[0].Follows != first.ID || items[0].State != api.ReviewStaged {
		t.Fatalf("after the reconsider period: %+v", items)
	}
	if again := run(); len(again) != 1 || again[0].ID != items[0].ID {
		t.Errorf("re-run: %+v", again)
	}
}
