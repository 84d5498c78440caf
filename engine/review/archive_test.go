package review

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// fakeMode answers Mode's archive endpoint,
// PATCH /api/{workspace}/reports/{token}/archive, with the report it
// archived; tokens in failing answer 500 until removed.
type fakeMode struct {
	mu      sync.Mutex
	failing map[string]bool
	calls   []string
}

func (f *fakeMode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	const prefix = "/api/acme/reports/"
	token, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, prefix), "/archive")
	if r.Method != http.MethodPatch || !strings.HasPrefix(r.URL.Path, prefix) || !ok {
		http.NotFound(w, r)
		return
	}
	f.calls = append(f.calls, token)
	w.Header().Set("Content-Type", "application/hal+json")
	if f.failing[token] {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"id":"internal_server_error","message":"Something went wrong"}`)
		return
	}
	fmt.Fprintf(w, `{"token":%q,"name":"r","archived":true,"_links":{"self":{"href":"/api/acme/reports/%s"}}}`, token, token)
}

// modeArchiver is the smallest client of that endpoint; the metapipeline's
// Mode client is the real one.
type modeArchiver struct{ url string }

func (m modeArchiver) ArchiveReport(ctx context.Context, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, m.url+"/api/acme/reports/"+token+"/archive", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/hal+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mode: archiving report %s: %s", token, resp.Status)
	}
	return nil
}

func TestArchivePartialFailureIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mode := &fakeMode{failing: map[string]bool{"bbb222": true}}
	srv := httptest.NewServer(mode)
	t.Cleanup(srv.Close)
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete, Archiver: modeArchiver{url: srv.URL}})
	stale := []StaleReport{
		{Token: "ccc333", Name: "Old funnel", Reason: "not run for 240 days"},
		{Token: "aaa111", Name: "Q1 KPIs", Reason: "not run for 143 days"},
		{Token: "bbb222", Name: "Test report", Reason: "low usage: 2 runs, 1 view, created 90 days ago"},
	}
	it, err := svc.StageArchive(ctx, stale)
	if err != nil {
		t.Fatal(err)
	}
	if it.Kind != KindArchive || it.State != api.ReviewStaged || len(it.Subjects) != 3 || it.Title != "Archive 3 stale reports" {
		t.Fatalf("item %+v", it)
	}
	again, err := svc.StageArchive(ctx, stale[1:])
	if err != nil || again.ID != it.ID || len(again.Subjects) != 2 {
		t.Fatalf("re-run = %+v, %v; want the staged item updated", again, err)
	}
	if _, err := svc.StageArchive(ctx, stale); err != nil {
		t.Fatal(err)
	}

	out, err := svc.Approve(ctx, it.ID, false)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 reports not archived") || !strings.Contains(err.Error(), "Test report (bbb222)") {
		t.Fatalf("partial failure = %v", err)
	}
	results := map[string]ReportResult{}
	for _, r := range out.Reports {
		results[r.Token] = r
	}
	if !results["aaa111"].Archived || !results["ccc333"].Archived || results["bbb222"].Archived || !strings.Contains(results["bbb222"].Err, "500") {
		t.Errorf("per-report results %+v", out.Reports)
	}
	got, _ := svc.Get(ctx, it.ID)
	if got.State != api.ReviewFailed {
		t.Errorf("state %s, want failed", got.State)
	}
	snap := got.Snapshot()
	for _, s := range snap.Subjects {
		if failed := strings.Contains(s.Reason, "archive failed"); failed != (s.ID == "bbb222") {
			t.Errorf("snapshot subject %s reason %q", s.ID, s.Reason)
		}
	}

	// A dry run of the retry lists only what is left.
	dry, err := svc.Approve(ctx, it.ID, true)
	if err != nil || len(dry.Reports) != 1 || dry.Reports[0].Token != "bbb222" {
		t.Fatalf("dry retry = %+v, %v", dry, err)
	}
	mode.mu.Lock()
	mode.failing = nil
	mode.mu.Unlock()
	out, err = svc.Approve(ctx, it.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Item.State != api.ReviewArchived || out.Item.Error != "" {
		t.Errorf("after retry: %s %q", out.Item.State, out.Item.Error)
	}
	if strings.Join(mode.calls, ",") != "aaa111,bbb222,ccc333,bbb222" {
		t.Errorf("Mode calls %v: a retry must only redo the failed report", mode.calls)
	}
	if _, err := svc.Reject(ctx, it.ID, ""); !errors.Is(err, ErrState) {
		t.Errorf("rejecting an archived item: %v, want ErrState", err)
	}
}

func TestArchiveWithoutClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete})
	it, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "x", Reason: "old"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, it.ID, false); !errors.Is(err, ErrNoArchiver) {
		t.Fatalf("approve without a client = %v, want ErrNoArchiver", err)
	}
	if got, _ := svc.Get(ctx, it.ID); got.State != api.ReviewStaged {
		t.Errorf("state %s, want staged", got.State)
	}
}

func TestConcurrentUpdateIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := setup(t, Config{DeprecateMode: DeprecateDelete})
	it, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "x", Reason: "old"}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := svc.Get(ctx, it.ID)
	b, _ := svc.Get(ctx, it.ID)
	if err := svc.update(ctx, a, api.ReviewRejected, "first"); err != nil {
		t.Fatal(err)
	}
	if err := svc.update(ctx, b, api.ReviewApproved, "second"); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update = %v, want ErrConflict", err)
	}
	if _, err := svc.Get(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing item = %v, want ErrNotFound", err)
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
