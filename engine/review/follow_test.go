package review

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// prGitHub is a GitHub stand-in that keeps pull requests and lets the test
// merge or close them and set their checks, answering in the REST shapes
// of POST/GET /repos/{o}/{r}/pulls[/{n}] and GET
// /repos/{o}/{r}/commits/{sha}/check-runs.
type prGitHub struct {
	mu     sync.Mutex
	prs    map[int]*fakePR
	next   int
	checks map[string][]string // head sha -> "status/conclusion" per run
}

type fakePR struct {
	number         int
	head, sha      string
	state          string // open, closed
	merged         bool
	mergedAt, clAt string
}

func newPRGitHub() *prGitHub {
	return &prGitHub{prs: map[int]*fakePR{}, next: 100, checks: map[string][]string{}}
}

func (g *prGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	var n int
	var sha string
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme/dbt/pulls":
		var body struct{ Head, Base, Title string }
		json.NewDecoder(r.Body).Decode(&body)
		g.next++
		pr := &fakePR{number: g.next, head: body.Head, sha: fmt.Sprintf("%040d", g.next), state: "open"}
		g.prs[pr.number] = pr
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, pr.json())
	case r.Method == http.MethodGet && scan(r.URL.Path, "/repos/acme/dbt/pulls/%d", &n):
		pr := g.prs[n]
		if pr == nil {
			notFound(w)
			return
		}
		io.WriteString(w, pr.json())
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/check-runs") && scan(r.URL.Path, "/repos/acme/dbt/commits/%40s", &sha):
		var runs []string
		for i, c := range g.checks[sha] {
			status, conclusion, _ := strings.Cut(c, "/")
			concl := "null"
			if conclusion != "" {
				concl = fmt.Sprintf("%q", conclusion)
			}
			runs = append(runs, fmt.Sprintf(`{"id":%d,"head_sha":%q,"name":"dbt build %d","status":%q,"conclusion":%s}`, i+1, sha, i, status, concl))
		}
		fmt.Fprintf(w, `{"total_count":%d,"check_runs":[%s]}`, len(runs), strings.Join(runs, ","))
	default:
		notFound(w)
	}
}

func scan(p, format string, args ...any) bool {
	n, err := fmt.Sscanf(p, format, args...)
	return err == nil && n == len(args)
}

func notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)
}

func (pr *fakePR) json() string {
	null := func(s string) string {
		if s == "" {
			return "null"
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf(`{"url":"https://api.github.com/repos/acme/dbt/pulls/%[1]d","id":%[1]d,"html_url":"https://github.com/acme/dbt/pull/%[1]d","number":%[1]d,"state":%[2]q,"merged":%[3]v,"merged_at":%[4]s,"closed_at":%[5]s,"title":"x","head":{"label":"acme:%[6]s","ref":%[6]q,"sha":%[7]q},"base":{"label":"acme:main","ref":"main"}}`,
		pr.number, pr.state, pr.merged, null(pr.mergedAt), null(pr.clAt), pr.head, pr.sha)
}

func (g *prGitHub) set(number int, f func(*fakePR)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g.prs[number])
}

// Following the pull requests: checks are recorded, a merged one is
// merged, a closed one is declined with the reason, and its models are
// not proposed again until the reconsider period ends.
func TestFollowPullRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repos := newRepos(t, true)
	gh := newPRGitHub()
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	now := testNow
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Repo: repos.user, GitHubAPIURL: srv.URL, GitHubRepo: "acme/dbt", Token: testToken, AllowHTTPLoopback: true,
		ReconsiderDays: 10, Clock: movingClock{&now}})

	open := func(cands []Candidate) *Item {
		t.Helper()
		it, err := svc.StageDeprecation(ctx, cands)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Approve(ctx, it.ID, false); err != nil {
			t.Fatal(err)
		}
		got, _ := svc.Get(ctx, it.ID)
		if got.State != api.ReviewPROpen || got.PRNumber == 0 {
			t.Fatalf("after approval: %s #%d", got.State, got.PRNumber)
		}
		return got
	}
	declinedPR := open(testCandidates[:2]) // stg_payments, legacy_report

	// Checks running, then failing: each change is recorded.
	gh.set(declinedPR.PRNumber, func(pr *fakePR) { gh.checks[pr.sha] = []string{"completed/success", "in_progress/"} })
	if _, err := svc.FollowPullRequests(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Get(ctx, declinedPR.ID); got.State != api.ReviewPROpen || got.Checks != ChecksPending {
		t.Errorf("pending checks: %s %q", got.State, got.Checks)
	}
	gh.set(declinedPR.PRNumber, func(pr *fakePR) { gh.checks[pr.sha] = []string{"completed/success", "completed/failure"} })
	if _, err := svc.FollowPullRequests(ctx); err != nil {
		t.Fatal(err)
	}
	if snap := svc.Reviews(); len(snap) != 1 || snap[0].Checks != ChecksFailure {
		t.Errorf("read model checks: %+v", snap)
	}

	// Closed unmerged: declined, with the reason.
	gh.set(declinedPR.PRNumber, func(pr *fakePR) { pr.state, pr.clAt = "closed", "2026-01-03T10:00:00Z" })
	now = now.Add(24 * time.Hour)
	changed, err := svc.FollowPullRequests(ctx)
	if err != nil || len(changed) != 1 {
		t.Fatalf("follow: %v %d", err, len(changed))
	}
	got, _ := svc.Get(ctx, declinedPR.ID)
	last := got.History[len(got.History)-1]
	if got.State != api.ReviewDeclined || !strings.Contains(last.Note, "a reviewer declined: pull request #") {
		t.Errorf("declined: %s %q", got.State, last.Note)
	}
	// Nothing to follow any more: no call changes it again.
	if changed, err := svc.FollowPullRequests(ctx); err != nil || len(changed) != 0 {
		t.Errorf("re-follow: %v %d", err, len(changed))
	}

	// The next run proposes the same three models: the two declined stay
	// out, only old_only is staged.
	next, err := svc.StageDeprecation(ctx, testCandidates)
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Subjects) != 1 || next.Subjects[0].Name != "old_only" {
		t.Fatalf("re-proposed after a decline: %+v", next.Subjects)
	}
	// Merged: its state follows.
	if _, err := svc.Approve(ctx, next.ID, false); err != nil {
		t.Fatal(err)
	}
	next, _ = svc.Get(ctx, next.ID)
	gh.set(next.PRNumber, func(pr *fakePR) { pr.state, pr.merged, pr.mergedAt = "closed", true, "2026-01-04T10:00:00Z" })
	if _, err := svc.FollowPullRequests(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Get(ctx, next.ID); got.State != api.ReviewMerged {
		t.Errorf("merged: %s", got.State)
	}

	// After the reconsider period the declined models may come back.
	now = now.Add(11 * 24 * time.Hour)
	again, err := svc.StageDeprecation(ctx, testCandidates[:2])
	if err != nil || again == nil || again.ID == declinedPR.ID || again.State != api.ReviewStaged || len(again.Subjects) != 2 {
		t.Fatalf("after the reconsider period: %v %+v", err, again)
	}
}
