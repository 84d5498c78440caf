package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

const testBucket = "dags"

// fakeS3 is gofakes3 behind httptest, with a handler wrapper that counts
// object GETs and LIST pages and can fail listings on demand.
type fakeS3 struct {
	backend *s3mem.Backend
	srv     *httptest.Server
	gets    atomic.Int64
	lists   atomic.Int64
	// failList is the HTTP status to answer listings with (0: serve them);
	// failAfter lets that many listing pages through first.
	failList  atomic.Int32
	failAfter atomic.Int64
}

func newFakeS3(t testing.TB) *fakeS3 {
	t.Helper()
	f := &fakeS3{backend: s3mem.New()}
	if err := f.backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(f.backend)
	inner := faker.Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isList := r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2"
		isGet := r.Method == http.MethodGet && !isList && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
		switch {
		case isList:
			n := f.lists.Add(1)
			if code := f.failList.Load(); code != 0 && n > f.failAfter.Load() {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(int(code))
				errCode := map[int32]string{403: "AccessDenied", 500: "InternalError", 503: "SlowDown"}[code]
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message></Error>`, errCode)
				return
			}
		case isGet:
			f.gets.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeS3) put(t testing.TB, key, content string) {
	t.Helper()
	if _, err := f.backend.PutObject(testBucket, key, map[string]string{}, bytes.NewReader([]byte(content)), int64(len(content)), nil); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeS3) delete(t testing.TB, key string) {
	t.Helper()
	if _, err := f.backend.DeleteObject(testBucket, key); err != nil {
		t.Fatal(err)
	}
}

// config points the real SDK client at the fake: static credentials and a
// single attempt per request, so injected failures surface at once.
func (f *fakeS3) config(prefix string) Config {
	return Config{
		Enabled:      true,
		S3Bucket:     testBucket,
		S3Prefix:     prefix,
		S3Endpoint:   f.srv.URL,
		ScanInterval: 3600e9,
		Env:          func(string) (string, bool) { return "", false },
		S3ClientOptions: []func(*s3.Options){func(o *s3.Options) {
			o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
			})
			o.RetryMaxAttempts = 1
		}},
	}
}

func scan(t testing.TB, l *Loader) api.ScanResult {
	t.Helper()
	res, err := l.ScanNow(context.Background())
	if err != nil {
		t.Fatalf("ScanNow: %v", err)
	}
	return res
}

func TestS3PaginationChangesAndDeletion(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t)
	const n = 1100
	for i := range n {
		f.put(t, fmt.Sprintf("team/batch%02d/dag%04d.json", i%10, i), dagJSON(fmt.Sprint("v1-", i), 2))
	}
	f.put(t, "elsewhere/outside.json", dagJSON("outside", 1)) // not below the prefix
	f.put(t, "team/readme.md", "not a dag")
	log, _ := testLogger()
	l, err := New(f.config("team"), log)
	if err != nil {
		t.Fatal(err)
	}

	res := scan(t, l)
	if res.Changed != n || res.Failed != 0 {
		t.Fatalf("cold scan = %+v", res)
	}
	if got := f.lists.Load(); got != 2 {
		t.Errorf("LIST pages = %d, want 2 for %d keys", got, n)
	}
	if got := f.gets.Load(); got != n {
		t.Errorf("GETs = %d, want %d", got, n)
	}
	ds := l.DAGs()
	if len(ds) != n {
		t.Fatalf("registry has %d entries, want %d", len(ds), n)
	}
	d, _ := entry(ds, "batch07/dag1097", "")
	if d.Status != api.DAGActive || d.Source != SourceS3 || d.Location != "s3://dags/team/batch07/dag1097.json" {
		t.Errorf("entry = %+v", d)
	}
	if src := l.Sources()[0]; !src.OK || src.Files != n || src.Location != "s3://dags/team/" {
		t.Errorf("health = %+v", src)
	}

	t.Run("unchanged rescan fetches nothing", func(t *testing.T) {
		gets, lists := f.gets.Load(), f.lists.Load()
		if res := scan(t, l); res.Changed != 0 {
			t.Errorf("rescan = %+v", res)
		}
		if got := f.gets.Load() - gets; got != 0 {
			t.Errorf("unchanged rescan made %d GETs", got)
		}
		if got := f.lists.Load() - lists; got != 2 {
			t.Errorf("rescan LIST pages = %d", got)
		}
	})

	t.Run("a new ETag is fetched, alone", func(t *testing.T) {
		gets := f.gets.Load()
		f.put(t, "team/batch03/dag0003.json", dagJSON("v2", 3))
		if res := scan(t, l); res.Changed != 1 {
			t.Errorf("scan = %+v", res)
		}
		if got := f.gets.Load() - gets; got != 1 {
			t.Errorf("GETs = %d, want 1", got)
		}
		if d, ok := l.Lookup("batch03/dag0003"); !ok || d.Description != "v2" || len(d.Nodes) != 3 {
			t.Errorf("Lookup = %+v, %v", d, ok)
		}
	})

	t.Run("a broken object keeps its last good version", func(t *testing.T) {
		f.put(t, "team/batch03/dag0003.json", `{"nodes": [`)
		scan(t, l)
		d, _ := entry(l.DAGs(), "batch03/dag0003", "")
		if d.Status != api.DAGInvalid || d.Def == nil || d.Def.Description != "v2" || len(d.Errors) == 0 {
			t.Errorf("entry = %+v", d)
		}
	})

	t.Run("deletion disables", func(t *testing.T) {
		f.delete(t, "team/batch05/dag0005.json")
		if res := scan(t, l); res.Changed != 1 {
			t.Errorf("scan = %+v", res)
		}
		d, _ := entry(l.DAGs(), "batch05/dag0005", "")
		if !Deleted(d) {
			t.Errorf("entry = %+v", d)
		}
	})
}

// TestS3ListingFailureChangesNothing: a listing that fails on any page, with
// any status, leaves every DAG as it was and reports the source unhealthy.
func TestS3ListingFailureChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t)
	const n = 1500 // two pages, so a failure can hit the second
	for i := range n {
		f.put(t, fmt.Sprintf("dag%04d.json", i), dagJSON("v1", 1))
	}
	l, err := New(f.config(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	scan(t, l)
	<-l.Changes()

	for _, tc := range []struct {
		name      string
		status    int32
		failAfter int64
		want      string
	}{
		{"500 on the first page", 500, 0, "InternalError"},
		{"403 on the first page", 403, 0, "AccessDenied"},
		{"503 on the second page", 503, 1, "SlowDown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.lists.Store(0)
			f.failAfter.Store(tc.failAfter)
			f.failList.Store(tc.status)
			res, err := l.ScanNow(context.Background())
			if !errors.Is(err, ErrSourceFailed) || res.Failed != 1 || res.Changed != 0 {
				t.Fatalf("ScanNow = %+v, %v", res, err)
			}
			ds := l.DAGs()
			active := 0
			for _, d := range ds {
				if d.Status == api.DAGActive {
					active++
				}
			}
			if active != n {
				t.Errorf("%d of %d DAGs active after a failed listing", active, n)
			}
			src := l.Sources()[0]
			if src.OK || !strings.Contains(src.Error, tc.want) {
				t.Errorf("health = %+v; want not OK with %s", src, tc.want)
			}
			select {
			case <-l.Changes():
			default:
				t.Error("a change of source health did not signal")
			}
		})
	}

	f.failList.Store(0)
	scan(t, l)
	if src := l.Sources()[0]; !src.OK || src.Error != "" {
		t.Errorf("health after recovery = %+v", src)
	}
}

func TestS3RefusesUnsafeKeys(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t)
	f.put(t, "p/ok.json", dagJSON("ok", 1))
	f.put(t, "p/../escape.json", dagJSON("escape", 1))
	f.put(t, "p//absolute.json", dagJSON("abs", 1))
	f.put(t, "p/a/./dot.json", dagJSON("dot", 1))
	f.put(t, "p/.hidden.json", dagJSON("hidden", 1))
	f.put(t, "p/folder/", "")
	l, err := New(f.config("p/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	scan(t, l)
	ds := l.DAGs()
	if len(ds) != 1 || ds[0].Name != "ok" {
		t.Errorf("registry:\n%s", dump(ds))
	}
	src := l.Sources()[0]
	if !src.OK || !strings.Contains(src.Error, "refused key") || !strings.Contains(src.Error, "2 more") {
		t.Errorf("health = %+v; want the three refused keys reported", src)
	}
	if got := f.gets.Load(); got != 1 {
		t.Errorf("GETs = %d, want only ok.json fetched", got)
	}
}

// TestBothSourcesWithNameCollision: the local folder comes first in the
// configuration, so it holds a name both claim; S3 keeps working when the
// folder is gone, and the S3 file takes the name when the local one goes.
func TestBothSourcesWithNameCollision(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t)
	f.put(t, "shared/etl.json", dagJSON("from-s3", 1))
	f.put(t, "only-s3.json", dagJSON("s3", 1))
	dir := t.TempDir()
	localFile := enginetest.WriteDAG(t, dir, "shared/etl.json", dagJSON("from-local", 1))
	enginetest.WriteDAG(t, dir, "only-local.json", dagJSON("local", 1))

	cfg := f.config("")
	cfg.Dir = dir
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	startLoader(t, l)
	// S3 is scanned in the background at start: wait for its files.
	ds := waitFor(t, l, "the S3 files", hasStatus("only-s3", api.DAGActive))
	s3e, _ := entry(ds, "shared/etl", "s3://dags/shared/etl.json")
	loc, _ := entry(ds, "shared/etl", localFile)
	if loc.Status != api.DAGActive || s3e.Status != api.DAGConflict || s3e.ConflictWith != localFile {
		t.Fatalf("collision:\n%s", dump(ds))
	}
	if d, _ := l.Lookup("shared/etl"); d.Description != "from-local" {
		t.Errorf("Lookup = %q", d.Description)
	}
	for _, name := range []string{"only-s3", "only-local"} {
		if !hasStatus(name, api.DAGActive)(ds) {
			t.Errorf("%s not active", name)
		}
	}
	if got := l.Sources(); len(got) != 2 || got[0].Name != SourceLocal || got[1].Name != SourceS3 {
		t.Errorf("sources = %+v", got)
	}

	// S3 failing leaves the local folder working, and vice versa.
	f.failList.Store(500)
	enginetest.WriteDAG(t, dir, "new-local.json", dagJSON("new", 1))
	waitFor(t, l, "local while s3 fails", func(ds []api.DAG) bool {
		return hasStatus("new-local", api.DAGActive)(ds)
	})
	scan2, _ := l.ScanNow(context.Background())
	if scan2.Failed != 1 || !hasStatus("only-s3", api.DAGActive)(l.DAGs()) {
		t.Errorf("s3 failure: %+v\n%s", scan2, dump(l.DAGs()))
	}
	f.failList.Store(0)

	if err := os.Remove(localFile); err != nil {
		t.Fatal(err)
	}
	ds = waitFor(t, l, "s3 takes the name", hasDescription(l, "shared/etl", "from-s3"))
	if d, _ := entry(ds, "shared/etl", ""); d.Source != SourceS3 || d.Status != api.DAGActive {
		t.Errorf("after local deletion:\n%s", dump(ds))
	}
}

// TestS3SDKLogsGoToSlog checks the adapter, and that a full scan with the
// real client writes nothing to the process's stderr.
func TestS3SDKLogsGoToSlog(t *testing.T) {
	// Not parallel: it swaps os.Stderr.
	log, buf := testLogger()
	sdkLogger(log).Logf(logging.Warn, "checksum %s", "skipped")
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "checksum skipped") || !strings.Contains(out, "component=aws-sdk") {
		t.Errorf("adapter wrote %q", out)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = saved }()

	f := newFakeS3(t)
	f.put(t, "a.json", dagJSON("a", 1))
	cfg := f.config("")
	cfg.S3ClientOptions = append(cfg.S3ClientOptions, func(o *s3.Options) {
		o.ClientLogMode = aws.LogRetries | aws.LogRequest | aws.LogResponse
	})
	log2, buf2 := testLogger()
	l, err := New(cfg, log2)
	if err != nil {
		t.Fatal(err)
	}
	scan(t, l)
	os.Stderr = saved
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) > 0 {
		t.Errorf("the SDK wrote to stderr:\n%s", out)
	}
	if !strings.Contains(buf2.String(), "component=aws-sdk") {
		t.Errorf("the SDK's request log did not reach slog:\n%s", buf2.String())
	}
	if !hasStatus("a", api.DAGActive)(l.DAGs()) {
		t.Error("a not loaded")
	}
}
