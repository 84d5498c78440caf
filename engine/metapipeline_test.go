package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/review"
)

// metaWorld is what the metapipeline reads and writes: a dbt repository
// (a checkout with a bare origin) with its manifest, a Mode workspace and
// GitHub, the last two as httptest servers in their APIs' shape.
type metaWorld struct {
	repo, remote, manifest string
	mode, github           *httptest.Server

	// refusePulls answers every pull request with a 422 that echoes the
	// request's Authorization header, as servers echo credentials.
	refusePulls bool

	mu       sync.Mutex
	archived []string
	pulls    []map[string]any
}

// The project: orders is read by a live report, legacy by nobody, and
// products only by a stale report.
var worldModels = map[string]string{
	"orders":   "select * from raw_orders\n",
	"legacy":   "select * from {{ ref('orders') }}\n",
	"products": "select * from raw_products\n",
}

const worldSchema = `version: 2

models:
  # The one model the finance dashboard reads.
  - name: orders
    description: Orders.
  - name: legacy
    description: Superseded.
  - name: products
    description: Products.
`

func newMetaWorld(t *testing.T) *metaWorld {
	t.Helper()
	root := t.TempDir()
	w := &metaWorld{repo: filepath.Join(root, "dbt"), remote: filepath.Join(root, "dbt.git"),
		manifest: filepath.Join(root, "manifest.json")}
	nodes := map[string]any{}
	parents, children := map[string][]string{}, map[string][]string{}
	for name, sql := range worldModels {
		id := "model.proj." + name
		var deps []string
		if strings.Contains(sql, "ref('orders')") {
			deps = []string{"model.proj.orders"}
		}
		nodes[id] = map[string]any{"resource_type": "model", "name": name, "package_name": "proj",
			"database": "db", "schema": "main", "alias": name, "relation_name": `"db"."main"."` + name + `"`,
			"original_file_path": "models/" + name + ".sql", "patch_path": "proj://models/schema.yml",
			"config": map[string]any{"materialized": "table"}, "depends_on": map[string]any{"nodes": deps}}
		parents[id] = append([]string{}, deps...)
		if children[id] == nil {
			children[id] = []string{}
		}
		for _, d := range deps {
			children[d] = append(children[d], id)
		}
		writeTestFile(t, filepath.Join(w.repo, "models", name+".sql"), sql)
	}
	writeTestFile(t, filepath.Join(w.repo, "models", "schema.yml"), worldSchema)
	manifest, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
			"dbt_version": "1.9.0", "project_name": "proj", "adapter_type": "duckdb"},
		"nodes": nodes, "sources": map[string]any{}, "parent_map": parents, "child_map": children,
	})
	writeTestFile(t, w.manifest, string(manifest))
	runGit(t, root, "init", "-q", "--bare", "-b", "main", w.remote)
	runGit(t, root, "init", "-q", "-b", "main", w.repo)
	runGit(t, w.repo, "add", "-A")
	runGit(t, w.repo, "commit", "-q", "-m", "dbt project")
	runGit(t, w.repo, "remote", "add", "origin", w.remote)
	runGit(t, w.repo, "push", "-q", "origin", "main")

	now := time.Now().UTC()
	w.mode = httptest.NewServer(http.HandlerFunc(w.serveMode(now)))
	t.Cleanup(w.mode.Close)
	w.github = httptest.NewServer(http.HandlerFunc(w.serveGitHub))
	t.Cleanup(w.github.Close)
	return w
}

func (w *metaWorld) serveMode(now time.Time) func(http.ResponseWriter, *http.Request) {
	report := func(token, name string, lastRun time.Time) map[string]any {
		return map[string]any{"token": token, "name": name, "created_at": now.AddDate(-1, 0, 0).Format(time.RFC3339),
			"last_run_at": lastRun.Format(time.RFC3339), "runs_count": 500, "view_count": "900", "archived": false,
			"_links": map[string]any{"web": map[string]string{"href": "https://app.mode.com/acme/reports/" + token}}}
	}
	queries := map[string]string{
		"live":  `select * from "db"."main"."orders"`,
		"stale": "select * from main.products",
	}
	return func(rw http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "tok" || p != "sec" {
			http.Error(rw, `{"message":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var body any
		switch path := strings.TrimPrefix(r.URL.Path, "/api/acme"); {
		case r.URL.Query().Get("page") != "1" && r.Method == http.MethodGet:
			body = map[string]any{"_embedded": map[string]any{"spaces": []any{}, "reports": []any{}, "queries": []any{}}}
		case path == "/spaces":
			body = map[string]any{"_embedded": map[string]any{"spaces": []any{map[string]any{"token": "s1", "name": "Finance"}}}}
		case path == "/spaces/s1/reports":
			body = map[string]any{"_embedded": map[string]any{"reports": []any{
				report("live", "Finance dashboard", now.Add(-time.Hour)),
				report("stale", "Old product mix", now.AddDate(0, 0, -200)),
			}}}
		case strings.HasSuffix(path, "/queries"):
			token := strings.Split(path, "/")[2]
			body = map[string]any{"_embedded": map[string]any{"queries": []any{
				map[string]any{"token": "q-" + token, "name": "q", "raw_query": queries[token]}}}}
		case r.Method == http.MethodPatch && strings.HasSuffix(path, "/archive"):
			w.mu.Lock()
			w.archived = append(w.archived, strings.Split(path, "/")[2])
			w.mu.Unlock()
			body = map[string]any{"archived": true}
		default:
			http.NotFound(rw, r)
			return
		}
		json.NewEncoder(rw).Encode(body)
	}
}

func (w *metaWorld) serveGitHub(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/repos/acme/dbt/pulls" || r.Header.Get("Authorization") == "" {
		http.Error(rw, `{"message":"Not Found"}`, http.StatusNotFound)
		return
	}
	if w.refusePulls {
		rw.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(rw).Encode(map[string]any{"message": "Validation Failed for " + r.Header.Get("Authorization")})
		return
	}
	var pr map[string]any
	if err := json.NewDecoder(r.Body).Decode(&pr); err != nil {
		http.Error(rw, `{"message":"Problems parsing JSON"}`, http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.pulls = append(w.pulls, pr)
	n := len(w.pulls)
	w.mu.Unlock()
	rw.WriteHeader(http.StatusCreated)
	json.NewEncoder(rw).Encode(map[string]any{"number": n, "html_url": fmt.Sprintf("https://github.example/acme/dbt/pull/%d", n)})
}

func (w *metaWorld) config() Config {
	return Config{
		Meta: MetaConfig{
			Config:    meta.Config{Manifest: w.manifest, ModeURL: w.mode.URL + "/api", ModeWorkspace: "acme"},
			ModeToken: "tok", ModeSecret: "sec",
		},
		// 2 of the world's 3 models are unused: above the default cap.
		Review: review.Config{DeprecateMode: review.DeprecateDelete, Repo: w.repo, GitHubRepo: "acme/dbt", GitHubAPIURL: w.github.URL, Token: "gh", MaxDeleteFraction: 1, AllowHTTPLoopback: true},
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=T",
		"GIT_COMMITTER_EMAIL=t@x", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func reviewsByKind(s *api.Snapshot) map[string]api.Review {
	out := map[string]api.Review{}
	for _, it := range s.Reviews {
		out[it.Kind] = it
	}
	return out
}

// The metapipeline is a built-in DAG: RunMeta queues it, its steps run as
// tasks, the analysis lands in the snapshot and its proposals are staged;
// approving pushes to the origin and opens a pull request, approving the
// archive item archives in Mode, rejecting sets an item aside.
func TestMetapipelineStagesAndApproves(t *testing.T) {
	t.Parallel()
	w := newMetaWorld(t)
	e := startEngine(t, w.config(), newFakeSource(t, map[string]string{"hello": noopDAG}))
	ctx := context.Background()

	s := e.Snapshot()
	i := slices.IndexFunc(s.DAGs, func(d api.DAG) bool { return d.Name == meta.DAGName })
	if i < 0 || s.DAGs[i].Source != SourceBuiltin || s.DAGs[i].Status != api.DAGActive {
		t.Fatalf("the metapipeline is not a built-in active DAG: %+v", s.DAGs)
	}
	if err := e.RunMeta(ctx); err != nil {
		t.Fatal(err)
	}
	s = waitSnapshot(t, e, func(s *api.Snapshot) bool {
		for _, r := range s.Runs.Finished {
			if r.DAG == meta.DAGName {
				return true
			}
		}
		return false
	})
	run := s.Runs.Finished[slices.IndexFunc(s.Runs.Finished, func(r api.Run) bool { return r.DAG == meta.DAGName })]
	if run.State != api.RunSuccess || run.Total != len(meta.Steps())+1 {
		t.Fatalf("metapipeline run: %s (%s), %d tasks: %+v", run.State, run.Error, run.Total, run.Tasks)
	}
	if !s.MetaEnabled || s.Meta == nil || s.Meta.Candidates != 2 || s.Meta.StaleReports != 1 || len(s.Meta.Centrality) != 3 {
		t.Fatalf("analysis in the snapshot: %+v", s.Meta)
	}
	items := reviewsByKind(s)
	dep, exp, arch := items["deprecate"], items["exposures"], items["archive"]
	if dep.State != api.ReviewStaged || !strings.Contains(dep.Diff, "models/legacy.sql") ||
		!strings.Contains(dep.Diff, "models/products.sql") || strings.Contains(dep.Diff, "-  # The one model") {
		t.Errorf("deprecation item %s:\n%s", dep.State, dep.Diff)
	}
	if exp.State != api.ReviewStaged || !strings.Contains(exp.Diff, "Finance dashboard") {
		t.Errorf("exposures item %s:\n%s", exp.State, exp.Diff)
	}
	if len(arch.Subjects) != 1 || arch.Subjects[0].ID != "stale" {
		t.Errorf("archive item %+v", arch)
	}

	if err := e.Approve(api.WithActor(ctx, "alice"), exp.ID); err != nil {
		t.Fatal(err)
	}
	if out := runGit(t, w.remote, "branch", "--list", exp.Branch); !strings.Contains(out, exp.Branch) {
		t.Errorf("branch %s not on the origin", exp.Branch)
	}
	w.mu.Lock()
	pulls := slices.Clone(w.pulls)
	w.mu.Unlock()
	if len(pulls) != 1 || pulls[0]["head"] != exp.Branch || pulls[0]["base"] != "main" {
		t.Errorf("pull requests %v", pulls)
	}
	if got := reviewsByKind(e.Snapshot())["exposures"]; got.State != api.ReviewPROpen || got.URL == "" {
		t.Errorf("approved item %s %q", got.State, got.URL)
	}

	if err := e.Approve(api.WithActor(ctx, "alice"), arch.ID); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	archived := slices.Clone(w.archived)
	w.mu.Unlock()
	if !slices.Equal(archived, []string{"stale"}) {
		t.Errorf("archived %v", archived)
	}

	if err := e.Reject(api.WithActor(ctx, "rita"), dep.ID, "finance still reads legacy"); err != nil {
		t.Fatal(err)
	}
	if got := reviewsByKind(e.Snapshot())["deprecate"]; got.State != api.ReviewRejected {
		t.Errorf("rejected item is %s", got.State)
	}
	if err := e.Approve(api.WithActor(ctx, "mallory"), dep.ID); !errors.Is(err, review.ErrState) {
		t.Errorf("approving a rejected item: %v", err)
	} else if want := fmt.Sprintf("approving review %d: it is rejected: ", dep.ID); !strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "approving review") != 1 {
		t.Errorf("the error reads %q, want one context: %q…", err, want)
	}
	if err := e.Reject(ctx, dep.ID, ""); !errors.Is(err, review.ErrState) || strings.Count(err.Error(), "rejecting review") != 1 {
		t.Errorf("rejecting a rejected item: %v", err)
	}
	if out := runGit(t, w.remote, "branch", "--list", dep.Branch); strings.TrimSpace(out) != "" {
		t.Errorf("a rejected branch reached the origin: %s", out)
	}

	// The rejection is undone: staged again, with its branch, and audited.
	if err := e.UndoReject(api.WithActor(ctx, "olga"), dep.ID); err != nil {
		t.Fatal(err)
	}
	if got := reviewsByKind(e.Snapshot())["deprecate"]; got.State != api.ReviewStaged || !strings.Contains(got.Diff, "models/legacy.sql") {
		t.Errorf("after undo the item is %s:\n%s", got.State, got.Diff)
	}
	if err := e.UndoReject(ctx, dep.ID); !errors.Is(err, review.ErrState) || strings.Count(err.Error(), "undoing the rejection of review") != 1 {
		t.Errorf("undoing a staged item's rejection: %v", err)
	}
	// Each action is audited with its actor, target, what it led to and
	// why: the pushed branch and the pull request, the archived report,
	// the rejection's reason, the refusal's message.
	exp = reviewsByKind(e.Snapshot())["exposures"]
	commit := runGit(t, w.remote, "rev-parse", "--short=7", exp.Branch)
	wantAudit(t, e, []api.AuditEntry{
		{Actor: "alice", Action: "approve", Target: fmt.Sprintf("review %d", exp.ID),
			Outcome: fmt.Sprintf("ok: pushed %s (%s) to %s; pull request #1 opened: https://github.example/acme/dbt/pull/1",
				exp.Branch, strings.TrimSpace(commit), w.remote)},
		{Actor: "alice", Action: "approve", Target: fmt.Sprintf("review %d", arch.ID),
			Outcome: "ok: archived 1 of 1 reports: Old product mix (stale)"},
		{Actor: "rita", Action: "reject", Target: fmt.Sprintf("review %d", dep.ID), Outcome: "ok", Reason: "finance still reads legacy"},
		{Actor: "mallory", Action: "approve", Target: fmt.Sprintf("review %d", dep.ID),
			Outcome: fmt.Sprintf("error: approving review %d: it is rejected: %v", dep.ID, review.ErrState)},
		{Actor: "olga", Action: "unreject", Target: fmt.Sprintf("review %d", dep.ID), Outcome: "ok"},
	})
}

// wantAudit fails unless the audit log holds each of want (At and ID
// ignored), each once.
func wantAudit(t *testing.T, e *Engine, want []api.AuditEntry) {
	t.Helper()
	log, err := e.AuditLog(context.Background(), api.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range log {
		got = append(got, fmt.Sprintf("%q %q %q → %q (%q)", a.Actor, a.Action, a.Target, a.Outcome, a.Reason))
	}
	for _, w := range want {
		line := fmt.Sprintf("%q %q %q → %q (%q)", w.Actor, w.Action, w.Target, w.Outcome, w.Reason)
		if n := slices.Index(got, line); n < 0 {
			t.Errorf("audit log lacks\n  %s\nit holds:\n  %s", line, strings.Join(got, "\n  "))
		} else if slices.Index(got[n+1:], line) >= 0 {
			t.Errorf("audit log holds twice: %s", line)
		}
	}
}

// An approval that pushed, then had its pull request refused, is audited
// as a failure with how far it got; the server's echo of the token is
// redacted from the record, as from the item's history.
func TestApproveAuditsHowFarAFailureGotRedacted(t *testing.T) {
	t.Parallel()
	w := newMetaWorld(t)
	w.refusePulls = true
	const token = "ghp_0123456789abcdefSECRET"
	cfg := w.config()
	cfg.Review.Token = token
	e := startEngine(t, cfg, newFakeSource(t, map[string]string{"hello": noopDAG}))
	ctx := context.Background()
	if err := e.RunMeta(ctx); err != nil {
		t.Fatal(err)
	}
	s := waitSnapshot(t, e, func(s *api.Snapshot) bool { return len(reviewsByKind(s)) == 3 })
	exp := reviewsByKind(s)["exposures"]
	err := e.Approve(api.WithActor(ctx, "alice"), exp.ID)
	if err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("approving with GitHub refusing: %v", err)
	}
	log, err := e.AuditLog(ctx, api.AuditQuery{Limit: 1})
	if err != nil || len(log) != 1 {
		t.Fatalf("audit log: %v %v", log, err)
	}
	a := log[0]
	pushed := fmt.Sprintf("; before that: pushed %s (", exp.Branch)
	if a.Actor != "alice" || a.Action != "approve" || a.Target != fmt.Sprintf("review %d", exp.ID) ||
		!strings.HasPrefix(a.Outcome, fmt.Sprintf("error: approving review %d: opening the pull request: ", exp.ID)) ||
		!strings.Contains(a.Outcome, pushed) || !strings.HasSuffix(a.Outcome, ") to "+w.remote) {
		t.Fatalf("audit entry %+v, want a failed approval that pushed %s", a, exp.Branch)
	}
	if strings.Contains(a.Outcome, token) || !strings.Contains(a.Outcome, "[redacted]") {
		t.Fatalf("the token's echo is not redacted: %q", a.Outcome)
	}
}

// The analysis outlives the process; a queued metapipeline run is not
// queued twice; a file claiming the built-in's name does not take it.
func TestMetapipelineBuiltinDetails(t *testing.T) {
	t.Parallel()
	w := newMetaWorld(t)
	cfg := w.config()
	cfg.StateDir = t.TempDir()
	cfg.MaxConcurrentRuns = 1
	src := newFakeSource(t, map[string]string{meta.DAGName: noopDAG, "slow": `{"nodes": [{"id": "s", "type": "sluice.sleep", "config": {"duration": "2s"}}]}`})
	e, err := newEngine(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var file, builtin int
	for _, d := range e.Snapshot().DAGs {
		switch {
		case d.Name == meta.DAGName && d.Source == SourceBuiltin:
			builtin++
		case d.Name == meta.DAGName:
			file++
			if d.Status != api.DAGConflict || d.ConflictWith == "" {
				t.Errorf("a file claiming the built-in's name: %+v", d)
			}
		}
	}
	if builtin != 1 || file != 1 {
		t.Errorf("%d built-in rows, %d file rows", builtin, file)
	}
	if def, ok := e.dags.Lookup(meta.DAGName); !ok || def.File != "builtin:metapipeline" {
		t.Errorf("the runner would run %+v", def)
	}

	// One slot, taken: both RunMeta calls find the queue.
	if _, err := e.Trigger(ctx, "slow", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.RunMeta(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.RunMeta(ctx); err != nil {
		t.Fatal(err)
	}
	queued := 0
	for _, r := range e.Snapshot().Runs.Queued {
		if r.DAG == meta.DAGName {
			queued++
		}
	}
	if queued != 1 {
		t.Errorf("%d metapipeline runs queued, want 1", queued)
	}
	waitSnapshot(t, e, func(s *api.Snapshot) bool { return s.Meta != nil && len(reviewsByKind(s)) == 3 })
	e.Stop()

	again, err := newEngine(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	if m := again.Snapshot().Meta; m == nil || m.Candidates != 2 || len(m.Centrality) != 3 {
		t.Errorf("after a restart the analysis is %+v", m)
	}
}

// An analysis is dated by the engine's clock: its report, and the stale
// rules that judge the reports' last runs against it.
func TestAnalyseUsesTheEngineClock(t *testing.T) {
	t.Parallel()
	w := newMetaWorld(t)
	at := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)
	cfg := w.config()
	cfg.Clock = clock.Fixed(at)
	eng, err := Open(context.Background(), Options{Offline: true, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	report, err := eng.Analyse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !report.GeneratedAt.Equal(at) {
		t.Fatalf("report generated at %v, want the engine clock's %v", report.GeneratedAt, at)
	}
}
