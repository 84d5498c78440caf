package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/store"
)

func reviewGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// reviewFixture is a dbt checkout with a bare origin, and a state dir where
// an engine staged a deprecation branch and an archive item.
type reviewFixture struct {
	state, user, remote string
	branchID, archiveID int64
	branch              string
}

func newReviewFixture(t *testing.T) reviewFixture {
	t.Helper()
	root := t.TempDir()
	f := reviewFixture{state: filepath.Join(root, "state"), user: filepath.Join(root, "dbt"), remote: filepath.Join(root, "remote.git")}
	reviewGit(t, root, "init", "-q", "--bare", "-b", "main", f.remote)
	reviewGit(t, root, "init", "-q", "-b", "main", f.user)
	dagsWrite(t, f.user, "models/a.sql", "select 1\n")
	dagsWrite(t, f.user, "models/b.sql", "select 2\n")
	dagsWrite(t, f.user, "models/schema.yml", "version: 2\nmodels:\n  - name: a # keep\n  - name: b\n    description: unused\n")
	reviewGit(t, f.user, "add", "-A")
	reviewGit(t, f.user, "commit", "-q", "-m", "init")
	reviewGit(t, f.user, "remote", "add", "origin", f.remote)
	reviewGit(t, f.user, "push", "-q", "origin", "main")

	// What the engine does after a metapipeline run.
	ctx := context.Background()
	db, err := store.OpenDir(ctx, f.state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := review.New(review.Config{StateDir: f.state, Repo: f.user, DeprecateMode: review.DeprecateDelete}, review.NewSQLStore(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := svc.Stage(ctx, review.Proposal{
		Deprecate: []review.Candidate{{UniqueID: "model.p.b", Name: "b", Reason: "no downstream consumer",
			Files: []string{"models/b.sql"}, PatchPath: "p://models/schema.yml", Importance: 0.25}},
		Stale: []review.StaleReport{{Token: "abc123", Name: "Old KPIs", Reason: "not run for 200 days"}},
	})
	if err != nil || len(items) != 2 {
		t.Fatalf("staging: %v, %v", items, err)
	}
	f.branchID, f.branch, f.archiveID = items[0].ID, items[0].Branch, items[1].ID
	return f
}

func TestReviewCLI(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	env := map[string]string{"SLUICE_STATE_DIR": f.state}

	code, out, errOut := dagsRun(t, env, "review", "list", "--json")
	if code != exitOK {
		t.Fatalf("list: %d %s", code, errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(list) != 2 {
		t.Fatalf("list: %d items", len(list))
	}
	byKind := map[string]map[string]any{}
	for _, it := range list {
		byKind[it["kind"].(string)] = it
	}
	dep, arch := byKind["deprecate"], byKind["archive"]
	if dep["id"].(float64) != float64(f.branchID) || dep["state"] != "staged" || dep["branch"] != f.branch {
		t.Errorf("deprecate item %v", dep)
	}
	models, _ := dep["models"].([]any)
	if len(models) != 1 || models[0].(map[string]any)["id"] != "model.p.b" || models[0].(map[string]any)["importance"] != 0.25 {
		t.Errorf("models %v", dep["models"])
	}
	reports, _ := arch["reports"].([]any)
	if len(reports) != 1 || reports[0].(map[string]any)["id"] != "abc123" || arch["branch"] != nil {
		t.Errorf("archive item %v", arch)
	}

	code, out, _ = dagsRun(t, env, "review", "list")
	if code != exitOK || !strings.Contains(out, f.branch) || !strings.Contains(out, "Archive 1 stale report") {
		t.Errorf("list table:\n%s", out)
	}

	id := strconv.FormatInt(f.branchID, 10)
	code, out, _ = dagsRun(t, env, "review", "show", id)
	if code != exitOK || !strings.Contains(out, "-  - name: b") || !strings.Contains(out, "deleted file mode") || !strings.Contains(out, "importance 0.2500") {
		t.Errorf("show:\n%s", out)
	}
	code, out, _ = dagsRun(t, env, "review", "show", "--patch", id)
	if code != exitOK || !strings.HasPrefix(out, "diff --git a/models/b.sql b/models/b.sql") {
		t.Errorf("show --patch:\n%s", out)
	}
	if code, _, _ := dagsRun(t, env, "review", "show", "999"); code != exitUsage {
		t.Errorf("show of a missing item: exit %d, want 2", code)
	}
	if code, _, _ := dagsRun(t, env, "review", "show"); code != exitUsage {
		t.Errorf("show without an id: exit %d, want 2", code)
	}

	// Approve with GitHub settings from the environment only: the item
	// knows its repository and remote.
	gh := &cliFakeGitHub{}
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	env["GITHUB_TOKEN"] = "tok"
	env["SLUICE_GITHUB_HTTP_LOOPBACK"] = "true" // the fake serves plain HTTP
	env["GITHUB_API_URL"] = srv.URL
	env["GITHUB_REPOSITORY"] = "acme/dbt"

	code, out, errOut = dagsRun(t, env, "review", "approve", "--dry-run", id)
	if code != exitOK || !strings.Contains(out, "Would push refs/heads/"+f.branch) || !strings.Contains(out, "Would open a pull request on acme/dbt: main <- "+f.branch) {
		t.Errorf("dry run: %d\n%s\n%s", code, out, errOut)
	}
	if gh.posts != 0 {
		t.Fatal("dry run posted")
	}
	// A token GitHub refuses: the dry run says the pull request would not
	// open, and exits 1.
	env["GITHUB_TOKEN"] = "revoked"
	code, out, errOut = dagsRun(t, env, "review", "approve", "--dry-run", id)
	if code != exitFailed || !strings.Contains(out, "Warning: the pull request would not open: GitHub refused the token (401 Bad credentials)") {
		t.Errorf("dry run with a refused token: %d\n%s\n%s", code, out, errOut)
	}
	env["GITHUB_TOKEN"] = "tok"
	code, out, errOut = dagsRun(t, env, "review", "approve", id)
	if code != exitOK || !strings.Contains(out, "Opened pull request #3: https://github.com/acme/dbt/pull/3") || !strings.Contains(out, "has its pull request open: https://github.com/acme/dbt/pull/3") {
		t.Fatalf("approve: %d\n%s\n%s", code, out, errOut)
	}
	if got := reviewGit(t, f.remote, "rev-parse", f.branch); !strings.HasPrefix(got, strings.Fields(strings.SplitN(out, "(", 2)[1])[0][:7]) {
		t.Errorf("remote branch at %s", got)
	}
	if code, _, errOut := dagsRun(t, env, "review", "approve", id); code != exitUsage || !strings.Contains(errOut, "pr-open") {
		t.Errorf("approving twice: %d %s", code, errOut)
	}

	aid := strconv.FormatInt(f.archiveID, 10)
	code, out, errOut = dagsRun(t, env, "review", "approve", aid)
	if code != exitFailed || !strings.Contains(errOut, "no BI client") {
		t.Errorf("archive approve without Mode: %d %s %s", code, out, errOut)
	}
	code, out, errOut = dagsRun(t, env, "review", "approve", "--dry-run", aid)
	if code != exitOK || !strings.Contains(out, "Would archive Old KPIs (abc123)") {
		t.Errorf("archive dry run: %d %s %s", code, out, errOut)
	}
	// Mode answers 500 for the report, then 200: a failed archive exits 1
	// and a second approve retries it.
	var modeCalls []string
	var modeMu sync.Mutex
	fail := true
	modeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		modeMu.Lock()
		defer modeMu.Unlock()
		user, pass, _ := r.BasicAuth()
		modeCalls = append(modeCalls, r.Method+" "+r.URL.Path+" "+user+":"+pass)
		w.Header().Set("Content-Type", "application/hal+json")
		if fail {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"id":"bad_request","message":"nope"}`)
			return
		}
		io.WriteString(w, `{"token":"abc123","archived":true}`)
	}))
	t.Cleanup(modeSrv.Close)
	env["MODE_URL"], env["MODE_WORKSPACE"], env["MODE_TOKEN"], env["MODE_SECRET"] = modeSrv.URL+"/api", "acme", "mt", "ms"
	code, out, errOut = dagsRun(t, env, "review", "approve", aid)
	if code != exitFailed || !strings.Contains(out, "FAILED   Old KPIs (abc123)") || !strings.Contains(errOut, "1 of 1 reports not archived") {
		t.Errorf("archive approve failing: %d\n%s\n%s", code, out, errOut)
	}
	modeMu.Lock()
	fail = false
	modeMu.Unlock()
	code, out, errOut = dagsRun(t, env, "review", "approve", aid)
	if code != exitOK || !strings.Contains(out, "Archived Old KPIs (abc123)") || !strings.Contains(out, "is archived") {
		t.Errorf("archive retry: %d\n%s\n%s", code, out, errOut)
	}
	if len(modeCalls) != 2 || modeCalls[1] != "PATCH /api/acme/reports/abc123/archive mt:ms" {
		t.Errorf("Mode calls %v", modeCalls)
	}
	if code, _, _ := dagsRun(t, env, "review", "reject", aid); code != exitUsage {
		t.Errorf("rejecting an archived item: exit %d, want 2", code)
	}
	code, out, _ = dagsRun(t, env, "review", "list", "--state", "archived", "--json")
	if code != exitOK || !strings.Contains(out, `"id": `+aid) || strings.Contains(out, `"kind": "deprecate"`) {
		t.Errorf("list --state archived:\n%s", out)
	}
}

func TestReviewCLIWithoutState(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SLUICE_STATE_DIR": filepath.Join(t.TempDir(), "none")}
	code, out, _ := dagsRun(t, env, "review", "list", "--json")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("list on an empty state dir: %d %q", code, out)
	}
	if code, _, errOut := dagsRun(t, env, "review", "approve", "1"); code != exitUsage || !strings.Contains(errOut, "no state") {
		t.Errorf("approve on an empty state dir: %d %s", code, errOut)
	}
	if code, _, _ := dagsRun(t, env, "review", "approve", "--help"); code != exitOK {
		t.Errorf("--help: exit %d", code)
	}
}

// cliFakeGitHub answers POST /repos/acme/dbt/pulls with 201.
type cliFakeGitHub struct {
	mu    sync.Mutex
	posts int
	// token is the one GitHub accepts ("tok" when empty).
	token string
}

func (g *cliFakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	token := g.token
	if token == "" {
		token = "tok"
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Bad credentials"}`)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/repos/acme/dbt" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"full_name":"acme/dbt","permissions":{"pull":true,"push":true}}`)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/repos/acme/dbt/pulls" || r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
		return
	}
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	g.posts++
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprint(w, `{"number":3,"html_url":"https://github.com/acme/dbt/pull/3","state":"open"}`)
}

func TestReviewCLIReject(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	env := map[string]string{"SLUICE_STATE_DIR": f.state}
	id := strconv.FormatInt(f.branchID, 10)
	code, out, errOut := dagsRun(t, env, "review", "reject", id, "--reason", "kept for finance")
	if code != exitOK || !strings.Contains(out, "Review "+id+" is rejected.") {
		t.Fatalf("reject: %d %s %s", code, out, errOut)
	}
	code, out, _ = dagsRun(t, env, "review", "show", "--json", id)
	var it map[string]any
	if err := json.Unmarshal([]byte(out), &it); err != nil || code != exitOK {
		t.Fatalf("show --json: %d %v", code, err)
	}
	hist := it["history"].([]any)
	last := hist[len(hist)-1].(map[string]any)
	if it["state"] != "rejected" || !strings.Contains(last["note"].(string), "deleted local branch "+f.branch) || !strings.Contains(last["note"].(string), "kept for finance") {
		t.Errorf("after reject: %v", it)
	}
	if code, _, errOut := dagsRun(t, env, "review", "approve", id); code != exitUsage || !strings.Contains(errOut, "rejected") {
		t.Errorf("approving a rejected item: %d %s", code, errOut)
	}
	// A review that does not exist is named once per message.
	for verb, want := range map[string]string{
		"approve": "sluice review approve: approving review 999: review item not found\n",
		"reject":  "sluice review reject: rejecting review 999: review item not found\n",
		"show":    "sluice review show: review 999: review item not found\n",
	} {
		if code, _, errOut := dagsRun(t, env, "review", verb, "999"); code != exitUsage || errOut != want {
			t.Errorf("review %s of a missing item: %d %q, want %q", verb, code, errOut, want)
		}
	}
	if out := reviewGit(t, f.remote, "branch", "--list", "sluice/*"); out != "" {
		t.Errorf("rejecting pushed something: %q", out)
	}

	// unreject stages it again; a second unreject is refused, once.
	code, out, errOut = dagsRun(t, env, "review", "unreject", id)
	if code != exitOK || !strings.Contains(out, "Review "+id+" is staged.") {
		t.Fatalf("unreject: %d %s %s", code, out, errOut)
	}
	code, _, errOut = dagsRun(t, env, "review", "unreject", id)
	if code != exitUsage || !strings.Contains(errOut, "it is staged, not rejected") || strings.Count(errOut, "undoing the rejection") != 1 {
		t.Errorf("unreject of a staged item: %d %q", code, errOut)
	}
	if code, _, _ := dagsRun(t, env, "review", "unreject"); code != exitUsage {
		t.Errorf("unreject without an ID: exit %d", code)
	}
}

func TestReviewCLIExclude(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	env := map[string]string{"SLUICE_STATE_DIR": f.state}
	id := strconv.FormatInt(f.branchID, 10)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{id, "b", "--keep"}, "--keep needs --reason"},
		{[]string{id}, "want a review ID and a model"},
		{[]string{id, "nope"}, "proposes no model"},
		{[]string{id, "b"}, "last model left in the branch; reject the item instead"},
		{[]string{strconv.FormatInt(f.archiveID, 10), "b"}, "only a staged deprecation's models can be taken out"},
	} {
		code, _, errOut := dagsRun(t, env, append([]string{"review", "exclude"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("exclude %v: %d %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// Where an item stands reads as a sentence, with what the operator needs.
func TestReviewSentence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		it   review.Item
		want string
	}{
		{review.Item{ID: 2, State: api.ReviewFailed, Error: "opening the pull request: acme/dbt: 500"},
			"Review 2 failed: opening the pull request: acme/dbt: 500. Approving it again retries what failed."},
		{review.Item{ID: 3, State: api.ReviewPROpen, URL: "https://github.com/acme/dbt/pull/3"}, "Review 3 has its pull request open: https://github.com/acme/dbt/pull/3"},
		{review.Item{ID: 4, State: api.ReviewPushed}, "Review 4 has its branch pushed, with no pull request opened."},
		{review.Item{ID: 5, State: api.ReviewRejected}, "Review 5 is rejected."},
	} {
		if got := reviewSentence(&tc.it); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.it.State, got, tc.want)
		}
	}
}
