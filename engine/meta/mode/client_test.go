package mode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

const (
	workspace = "acryl"
	token     = "tok-4c1d"
	secret    = "s3cr3t-9f8e7d"
)

// fixture returns a real Mode API response from testdata/fixtures/mode.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(fixtures.Real(t, "mode", "datahub_integration_setup", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// embedded returns the items of a fixture's _embedded[key] as raw objects,
// for variations built from real items.
func embedded(t testing.TB, name, key string) []map[string]any {
	t.Helper()
	var doc struct {
		Embedded map[string][]map[string]any `json:"_embedded"`
	}
	if err := json.Unmarshal(fixture(t, name), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Embedded[key]
}

func halList(key string, items []map[string]any) []byte {
	if items == nil {
		items = []map[string]any{}
	}
	out, _ := json.Marshal(map[string]any{
		"_links":    map[string]any{"self": map[string]string{"href": "/api/acryl/" + key}},
		"_embedded": map[string]any{key: items},
	})
	return out
}

// fakeMode serves Mode's API from handlers keyed by "METHOD /path"; it
// checks the credentials and the Accept header on every request.
type fakeMode struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	requests []string // "METHOD /path?query"
	times    []time.Time
	inFlight atomic.Int32
	maxLoad  atomic.Int32
}

func newFakeMode(t *testing.T) *fakeMode {
	f := &fakeMode{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMode) serve(w http.ResponseWriter, r *http.Request) {
	load := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxLoad.Load()
		if load <= m || f.maxLoad.CompareAndSwap(m, load) {
			break
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.times = append(f.times, time.Now())
	h := f.routes[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != token || pass != secret {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"id":"unauthorized","message":"Unauthorized"}`)
		return
	}
	if got := r.Header.Get("Accept"); got != "application/hal+json" {
		f.t.Errorf("Accept = %q", got)
	}
	if h == nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"id":"not_found","message":"Not found"}`)
		return
	}
	h(w, r)
}

func (f *fakeMode) handle(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

// servePages serves the pages in order and an empty list after them.
func (f *fakeMode) servePages(route, key string, pages ...[]map[string]any) {
	f.handle(route, func(w http.ResponseWriter, r *http.Request) {
		page := 1
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		var items []map[string]any
		if page >= 1 && page <= len(pages) {
			items = pages[page-1]
		}
		w.Header().Set("Content-Type", "application/hal+json")
		w.Write(halList(key, items))
	})
}

func (f *fakeMode) serveRaw(route string, body []byte) {
	f.handle(route, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") != "1" {
			w.Write([]byte(`{"_embedded":{}}`))
			return
		}
		w.Write(body)
	})
}

func (f *fakeMode) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeMode) client(t *testing.T, edit ...func(*mode.Config)) *mode.Client {
	t.Helper()
	cfg := mode.Config{
		BaseURL: f.srv.URL + "/api", Workspace: workspace, Token: token, Secret: secret,
		InitialBackoff: 5 * time.Millisecond,
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := mode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// realWorkspace serves the fixtures: the space of spaces.json, plus the
// space of reports_75737b70402e.json (built from the real space object),
// and queries.json for report 9d2da37fa91e.
func realWorkspace(t *testing.T) *fakeMode {
	f := newFakeMode(t)
	spaces := embedded(t, "spaces.json", "spaces")
	second := map[string]any{}
	for k, v := range spaces[0] {
		second[k] = v
	}
	second["token"], second["name"] = "75737b70402e", "Second"
	f.servePages("GET /api/acryl/spaces", "spaces", append(spaces, second))
	f.serveRaw("GET /api/acryl/spaces/9026edbd5a3c/reports", fixture(t, "reports.json"))
	f.serveRaw("GET /api/acryl/spaces/75737b70402e/reports", fixture(t, "reports_75737b70402e.json"))
	f.serveRaw("GET /api/acryl/reports/9d2da37fa91e/queries", fixture(t, "queries.json"))
	f.servePages("GET /api/acryl/reports/72f2ef8fb3a8/queries", "queries")
	return f
}

func TestGraphFromRealResponses(t *testing.T) {
	t.Parallel()
	f := realWorkspace(t)
	g, err := f.client(t).Graph(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Spaces) != 2 || g.Spaces[0].Name != "Petabloc" || g.Spaces[0].SpaceType != "custom" {
		t.Errorf("spaces = %+v", g.Spaces)
	}
	if len(g.Reports) != 2 {
		t.Fatalf("reports = %+v", g.Reports)
	}
	actor := g.Report("72f2ef8fb3a8")
	want := mode.Report{
		Token: "72f2ef8fb3a8", Name: "Actor Report", Description: "Actor Report Description", SpaceToken: "9026edbd5a3c",
		CreatedAt: time.Date(2021, 11, 30, 19, 52, 16, 996e6, time.UTC),
		UpdatedAt: time.Date(2021, 12, 6, 21, 52, 42, 433e6, time.UTC),
		LastRunAt: time.Date(2021, 12, 6, 21, 52, 40, 370e6, time.UTC),
		RunsCount: 8, ViewCount: 49, QueryCount: 1,
		URL:     "https://app.mode.com/acryl/reports/72f2ef8fb3a8",
		Creator: "modeuser",
	}
	if *actor != want {
		t.Errorf("report =\n%+v\nwant\n%+v", *actor, want)
	}
	if r := g.Report("9d2da37fa91e"); r == nil || r.RunsCount != 27 || r.ViewCount != 6 || r.SpaceToken != "75737b70402e" {
		t.Errorf("second report = %+v", r)
	}
	qs := g.Queries["9d2da37fa91e"]
	if len(qs) != 1 || qs[0].Token != "6e26a9f3d4e2" || qs[0].ID != 10149707 || qs[0].DataSourceID != 34499 ||
		!strings.Contains(qs[0].RawQuery, "{{  @join_on_definition    as                      rental  }}") || qs[0].ReportToken != "9d2da37fa91e" {
		t.Errorf("queries = %+v", qs)
	}
	if len(g.Queries["72f2ef8fb3a8"]) != 0 {
		t.Errorf("queries of the actor report = %+v", g.Queries["72f2ef8fb3a8"])
	}
	for _, req := range f.log() {
		if strings.HasPrefix(req, "GET /api/acryl/spaces?") && req != "GET /api/acryl/spaces?filter=all&page=1" {
			t.Errorf("spaces request %q", req)
		}
	}
}

// reportsFrom makes n distinct reports from the real one.
func reportsFrom(t *testing.T, n int) []map[string]any {
	base := embedded(t, "reports.json", "reports")[0]
	out := make([]map[string]any, n)
	for i := range out {
		r := map[string]any{}
		for k, v := range base {
			r[k] = v
		}
		r["token"], r["name"] = fmt.Sprintf("r%03d", i), fmt.Sprintf("Report %d", i)
		out[i] = r
	}
	return out
}

func TestPagination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		total    int
		requests int
	}{
		{"short last page", 65, 3},
		{"exact multiple", 60, 3}, // the third page is empty
		{"one short page", 7, 1},
		{"empty", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMode(t)
			all := reportsFrom(t, tt.total)
			var pages [][]map[string]any
			for i := 0; i < len(all); i += 30 {
				pages = append(pages, all[i:min(i+30, len(all))])
			}
			f.servePages("GET /api/acryl/spaces/sp/reports", "reports", pages...)
			reports, err := f.client(t).Reports(context.Background(), "sp")
			if err != nil {
				t.Fatal(err)
			}
			if len(reports) != tt.total {
				t.Errorf("%d reports, want %d", len(reports), tt.total)
			}
			log := f.log()
			if len(log) != tt.requests {
				t.Errorf("requests = %q, want %d", log, tt.requests)
			}
			for i, req := range log {
				if want := fmt.Sprintf("GET /api/acryl/spaces/sp/reports?page=%d", i+1); req != want {
					t.Errorf("request %d = %q, want %q", i, req, want)
				}
			}
		})
	}
}

// A server that ignores ?page returns the same full page forever; the walk
// stops when a page brings nothing new.
func TestPaginationIgnoredPageParameter(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	page := reportsFrom(t, 30)
	f.handle("GET /api/acryl/spaces/sp/reports", func(w http.ResponseWriter, r *http.Request) { w.Write(halList("reports", page)) })
	reports, err := f.client(t).Reports(context.Background(), "sp")
	if err != nil || len(reports) != 30 || len(f.log()) != 2 {
		t.Errorf("reports = %d, err = %v, requests = %d", len(reports), err, len(f.log()))
	}
}

func TestCountsAsNumbersOrStrings(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	r := reportsFrom(t, 3)
	r[0]["runs_count"], r[0]["view_count"], r[0]["query_count"] = "3", "12", nil
	r[1]["runs_count"], r[1]["view_count"], r[1]["query_count"] = 4.0, "", "2"
	r[2]["last_run_at"], r[2]["archived"] = nil, "true"
	f.servePages("GET /api/acryl/spaces/sp/reports", "reports", r)
	reports, err := f.client(t).Reports(context.Background(), "sp")
	if err != nil {
		t.Fatal(err)
	}
	got := [][3]int{}
	for _, x := range reports {
		got = append(got, [3]int{x.RunsCount, x.ViewCount, x.QueryCount})
	}
	if want := [][3]int{{3, 12, 0}, {4, 0, 2}, {8, 49, 1}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	if !reports[2].LastRunAt.IsZero() || !reports[2].Archived {
		t.Errorf("never-run archived report = %+v", reports[2])
	}

	r[0]["runs_count"] = "many"
	f.servePages("GET /api/acryl/spaces/sp/reports", "reports", r)
	if _, err := f.client(t).Reports(context.Background(), "sp"); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Errorf("bad count: err = %v", err)
	}
}

func TestRetryAfter429(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	var calls atomic.Int32
	f.handle("GET /api/acryl/spaces", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write(halList("spaces", embedded(t, "spaces.json", "spaces")))
	})
	var logs bytes.Buffer
	c := f.client(t, func(c *mode.Config) {
		c.InitialBackoff = time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	spaces, err := c.Spaces(context.Background())
	if err != nil || len(spaces) != 1 {
		t.Fatalf("spaces = %v, err = %v", spaces, err)
	}
	f.mu.Lock()
	gap := f.times[1].Sub(f.times[0])
	f.mu.Unlock()
	if gap < time.Second {
		t.Errorf("retried after %v, Retry-After said 1s", gap)
	}
	if !strings.Contains(logs.String(), "wait=1s") {
		t.Errorf("retry not logged with its wait: %s", logs.String())
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), token) {
		t.Errorf("credentials in the log: %s", logs.String())
	}
}

func TestRetryServerErrorThenSuccess(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	var calls atomic.Int32
	f.handle("GET /api/acryl/reports/r1/queries", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "upstream exploded")
			return
		}
		w.Write(fixture(t, "queries.json"))
	})
	qs, err := f.client(t).Queries(context.Background(), "r1")
	if err != nil || len(qs) != 1 || calls.Load() != 2 {
		t.Errorf("queries = %d, err = %v, calls = %d", len(qs), err, calls.Load())
	}
}

func TestRetriesGiveUp(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	f.handle("GET /api/acryl/spaces", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	_, err := f.client(t, func(c *mode.Config) { c.MaxAttempts = 3 }).Spaces(context.Background())
	var apiErr *mode.APIError
	if !errors.Is(err, mode.ErrServer) || !errors.As(err, &apiErr) || apiErr.Status != 502 || len(f.log()) != 3 {
		t.Errorf("err = %v, requests = %d", err, len(f.log()))
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		want   error
	}{
		{"unauthorized", http.StatusUnauthorized, mode.ErrUnauthorized},
		{"forbidden", http.StatusForbidden, mode.ErrForbidden},
		{"not found", http.StatusNotFound, mode.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMode(t)
			f.handle("GET /api/acryl/spaces", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"id":"x","message":"%s from Mode"}`, http.StatusText(tt.status))
			})
			_, err := f.client(t).Spaces(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if len(f.log()) != 1 {
				t.Errorf("%d requests: a %d must not be retried", len(f.log()), tt.status)
			}
			msg := err.Error()
			if !strings.Contains(msg, "GET /api/acryl/spaces") || !strings.Contains(msg, "from Mode") ||
				strings.Contains(msg, secret) || strings.Contains(msg, token) {
				t.Errorf("error message %q", msg)
			}
		})
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	f := realWorkspace(t)
	_, err := f.client(t, func(c *mode.Config) { c.Secret = "wrong-secret" }).Graph(context.Background())
	if !errors.Is(err, mode.ErrUnauthorized) || !strings.Contains(err.Error(), "MODE_SECRET") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("err = %v", err)
	}
}

func TestBoundedConcurrency(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	reports := reportsFrom(t, 25)
	f.servePages("GET /api/acryl/spaces", "spaces", embedded(t, "spaces.json", "spaces"))
	f.servePages("GET /api/acryl/spaces/9026edbd5a3c/reports", "reports", reports)
	release := make(chan struct{})
	var arrived atomic.Int32
	for _, r := range reports {
		f.handle("GET /api/acryl/reports/"+r["token"].(string)+"/queries", func(w http.ResponseWriter, req *http.Request) {
			// Hold the first requests until three are in flight, so the
			// bound is reached and any excess would show.
			if arrived.Add(1) == 3 {
				close(release)
			}
			<-release
			w.Write(halList("queries", nil))
		})
	}
	g, err := f.client(t, func(c *mode.Config) { c.Concurrency = 3 }).Graph(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Reports) != 25 {
		t.Errorf("reports = %d", len(g.Reports))
	}
	if m := f.maxLoad.Load(); m != 3 {
		t.Errorf("max requests in flight = %d, want 3", m)
	}
}

func TestGraphStopsOnFirstError(t *testing.T) {
	t.Parallel()
	f := realWorkspace(t)
	f.handle("GET /api/acryl/reports/9d2da37fa91e/queries", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	})
	_, err := f.client(t).Graph(context.Background())
	if !errors.Is(err, mode.ErrForbidden) || !strings.Contains(err.Error(), `report "Report 1" (9d2da37fa91e)`) {
		t.Errorf("err = %v", err)
	}
}

func TestArchiveReport(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	f.handle("PATCH /api/acryl/reports/72f2ef8fb3a8/archive", func(w http.ResponseWriter, r *http.Request) {
		r0 := embedded(t, "reports.json", "reports")[0]
		r0["archived"] = true
		json.NewEncoder(w).Encode(r0)
	})
	c := f.client(t)
	if err := c.ArchiveReport(context.Background(), "72f2ef8fb3a8"); err != nil {
		t.Fatal(err)
	}
	if log := f.log(); len(log) != 1 || log[0] != "PATCH /api/acryl/reports/72f2ef8fb3a8/archive" {
		t.Errorf("requests = %q", log)
	}
	if err := c.ArchiveReport(context.Background(), "gone"); !errors.Is(err, mode.ErrNotFound) {
		t.Errorf("archiving a missing report: %v", err)
	}
}

func TestDeleteReport(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	f.handle("DELETE /api/acryl/reports/72f2ef8fb3a8", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	f.handle("DELETE /api/acryl/reports/locked", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"id":"forbidden","message":"You do not have permission"}`)
	})
	c := f.client(t)
	if err := c.DeleteReport(context.Background(), "72f2ef8fb3a8"); err != nil {
		t.Fatal(err)
	}
	if log := f.log(); len(log) != 1 || log[0] != "DELETE /api/acryl/reports/72f2ef8fb3a8" {
		t.Errorf("requests = %q", log)
	}
	if err := c.DeleteReport(context.Background(), "gone"); err != nil {
		t.Errorf("deleting a report already gone: %v", err)
	}
	if err := c.DeleteReport(context.Background(), "locked"); err == nil {
		t.Error("a refused delete succeeded")
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, cfg := range []mode.Config{
		{Workspace: "", Token: "t", Secret: "s"},
		{Workspace: "a/b", Token: "t", Secret: "s"},
		{Workspace: "w", Token: "", Secret: "s"},
		{Workspace: "w", Token: "t", Secret: ""},
		{Workspace: "w", Token: "t", Secret: "s", BaseURL: "ftp://x"},
		{Workspace: "w", Token: "t", Secret: "s", BaseURL: "not a url"},
	} {
		if _, err := mode.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := mode.New(mode.Config{Workspace: "w", Token: "t", Secret: "s"})
	if err != nil || c.Workspace() != "w" {
		t.Errorf("defaults: %v", err)
	}
}

func TestConfigLogValueHidesCredentials(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "mode", mode.Config{Workspace: "w", Token: token, Secret: secret})
	if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), token) || !strings.Contains(buf.String(), `"credentials":true`) {
		t.Errorf("logged %s", buf.String())
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	t.Parallel()
	f := newFakeMode(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.handle("GET /api/acryl/spaces", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	start := time.Now()
	_, err := f.client(t, func(c *mode.Config) { c.MaxElapsed = 2 * time.Hour }).Spaces(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 30*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}
