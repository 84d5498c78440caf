package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/store"
)

// fakeSource is an in-memory DAG registry standing in for the loader.
type fakeSource struct {
	mu      sync.Mutex
	defs    map[string]*dag.DAG
	changes chan struct{}
	scanned chan struct{}
	scans   int
}

func newFakeSource(t *testing.T, files map[string]string) *fakeSource {
	f := &fakeSource{defs: map[string]*dag.DAG{}, changes: make(chan struct{}, 1), scanned: make(chan struct{}, 1)}
	for name, js := range files {
		def, err := dag.Parse(name+".json", []byte(js), dag.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.defs[name] = def
	}
	return f
}

func (f *fakeSource) Start(context.Context) error { return nil }
func (f *fakeSource) Stop()                       {}
func (f *fakeSource) ScanNow(context.Context) (api.ScanResult, error) {
	f.mu.Lock()
	f.scans++
	f.mu.Unlock()
	return api.ScanResult{Sources: 1}, nil
}
func (f *fakeSource) Sources() []api.Source    { return []api.Source{{Name: "local", OK: true}} }
func (f *fakeSource) Changes() <-chan struct{} { return f.changes }
func (f *fakeSource) Scans() <-chan struct{}   { return f.scanned }
func (f *fakeSource) Lookup(name string) (*dag.DAG, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.defs[name]
	return d, ok
}
func (f *fakeSource) DAGs() []api.DAG {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.DAG
	for name, d := range f.defs {
		out = append(out, api.DAG{Name: name, Source: "local", Status: api.DAGActive, Def: loader.DefView(d)})
	}
	return out
}

const noopDAG = `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`

func startEngine(t *testing.T, cfg Config, src dagSource) *Engine {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	e, err := newEngine(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

// waitSnapshot waits on events until the snapshot satisfies cond.
func waitSnapshot(t *testing.T, e *Engine, cond func(*api.Snapshot) bool) *api.Snapshot {
	t.Helper()
	return waitSnapshotWithin(t, e, 20*time.Second, "the snapshot", cond)
}

// waitSnapshotWithin is waitSnapshot with a bound of its own, for tests
// whose claim is how soon a change shows; what names it in the failure.
func waitSnapshotWithin(t *testing.T, e *Engine, within time.Duration, what string, cond func(*api.Snapshot) bool) *api.Snapshot {
	t.Helper()
	ch, done := e.Subscribe()
	defer done()
	var s *api.Snapshot
	enginetest.EventuallyOn(t, ch, within, func() bool {
		s = e.Snapshot()
		return cond(s)
	}, what)
	return s
}

func finished(s *api.Snapshot, id int64) (api.Run, bool) {
	for _, r := range s.Runs.Finished {
		if r.ID == id {
			return r, true
		}
	}
	return api.Run{}, false
}

func TestTriggerRunsAndPublishes(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{}, newFakeSource(t, map[string]string{"hello": noopDAG}))
	ch, done := e.Subscribe()
	defer done()
	id, err := e.Trigger(context.Background(), "hello", json.RawMessage(`{"who":"world"}`))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Topics&api.TopicRuns == 0 {
			t.Fatalf("event %v lacks TopicRuns", ev.Topics)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after a trigger")
	}
	s := waitSnapshot(t, e, func(s *api.Snapshot) bool { _, ok := finished(s, id); return ok })
	run, _ := finished(s, id)
	if run.State != api.RunSuccess || run.Trigger != "manual" || string(run.Config) != `{"who":"world"}` || run.Done != 1 {
		t.Fatalf("run %+v", run)
	}
	// Committed before shown: the store agrees.
	stored, err := e.Store().Run(context.Background(), id)
	if err != nil || stored.State != api.RunSuccess {
		t.Fatalf("stored %+v %v", stored, err)
	}
	var logged bool
	for _, l := range s.Logs {
		logged = logged || (l.Msg == "run triggered" && strings.Contains(l.Attrs, fmt.Sprintf("run=%d", id)))
	}
	if !logged {
		t.Fatalf("logs %+v", s.Logs)
	}
}

func TestTriggerRefusals(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{}, newFakeSource(t, map[string]string{"hello": noopDAG}))
	ctx := context.Background()
	if _, err := e.Trigger(ctx, "nope", nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown dag: %v", err)
	}
	for _, bad := range []string{`[1]`, `"x"`, `{`, `null`} {
		if _, err := e.Trigger(ctx, "hello", json.RawMessage(bad)); !errors.Is(err, api.ErrInvalidConfig) {
			t.Errorf("config %s: %v", bad, err)
		}
	}
	if err := e.Cancel(ctx, 424242); err == nil {
		t.Fatal("cancelled an unknown run")
	}
}

// An engine without a manifest, review items or sensors says why each
// action cannot be done.
func TestUnconfiguredPartsSayWhy(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{}, newFakeSource(t, nil))
	ctx := context.Background()
	for name, c := range map[string]struct {
		err  error
		want error
	}{
		"RunMeta":     {e.RunMeta(ctx), api.ErrNotAvailable},
		"Approve":     {e.Approve(ctx, 1), review.ErrNotFound},
		"Reject":      {e.Reject(ctx, 1, ""), review.ErrNotFound},
		"PauseSensor": {e.PauseSensor(ctx, "d", 0, true), sensor.ErrUnknownSensor},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", name, c.err, c.want)
		}
	}
	if err := e.RunMeta(ctx); !strings.Contains(err.Error(), "--manifest") {
		t.Errorf("RunMeta: %v, want it to name the missing setting", err)
	}
	if e.Snapshot().MetaEnabled {
		t.Error("the snapshot says the metapipeline is enabled without a manifest")
	}
}

func TestSecondEngineOnSameStateDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	startEngine(t, Config{StateDir: dir}, newFakeSource(t, nil))
	_, err := newEngine(Config{StateDir: dir}, newFakeSource(t, nil))
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second engine: %v", err)
	}
}

func TestStopReleasesStateDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, err := newEngine(Config{StateDir: dir}, newFakeSource(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	e.Stop() // never started
	e2 := startEngine(t, Config{StateDir: dir}, newFakeSource(t, nil))
	e2.Stop()
	if _, held, _ := store.LockHolder(dir); held {
		t.Fatal("lock held after Stop")
	}
}

// A periodic scan that changed nothing still publishes api.TopicDAGs: the
// sources' last-scan times moved.
func TestPeriodicScanPublishesDAGs(t *testing.T) {
	t.Parallel()
	src := newFakeSource(t, map[string]string{"a": noopDAG})
	e := startEngine(t, Config{}, src)
	ch, done := e.Subscribe()
	defer done()
	// Drain what Start published.
	select {
	case <-ch:
	case <-time.After(100 * time.Millisecond):
	}
	src.scanned <- struct{}{}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.Topics&api.TopicDAGs != 0 {
				return
			}
		case <-deadline:
			t.Fatal("no api.TopicDAGs event after a periodic scan")
		}
	}
}

// The real loader signals every periodic scan, changed or not.
func TestLoaderSignalsPeriodicScans(t *testing.T) {
	t.Parallel()
	l, err := loader.New(loader.Config{Dir: t.TempDir(), Enabled: true, ScanInterval: 20 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	select {
	case <-l.Changes(): // the initial scan's, done in Start
	default:
	}
	for i := 0; i < 2; i++ {
		select {
		case <-l.Scans():
		case <-time.After(10 * time.Second):
			t.Fatalf("no scan signal %d", i+1)
		}
	}
	select {
	case <-l.Changes():
		t.Error("an empty folder's rescans signalled a change")
	default:
	}
}

func TestWithRealLoader(t *testing.T) {
	t.Parallel()
	dags := t.TempDir()
	os.MkdirAll(filepath.Join(dags, "team"), 0o755)
	if err := os.WriteFile(filepath.Join(dags, "team", "etl.json"), []byte(`{"schedule": "0 3 * * *",
		"nodes": [{"id": "a", "type": "sluice.noop", "config": {}}, {"id": "b", "type": "sluice.noop", "config": {}, "depends_on": ["a"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{StateDir: t.TempDir(), Loader: loader.Config{Dir: dags, Enabled: true, ScanInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	s := e.Snapshot()
	if len(s.DAGs) != 1 || s.DAGs[0].Name != "team/etl" || s.DAGs[0].NextFire.IsZero() {
		t.Fatalf("dags %+v", s.DAGs)
	}
	id, err := e.Trigger(context.Background(), "team/etl", nil)
	if err != nil {
		t.Fatal(err)
	}
	s = waitSnapshot(t, e, func(s *api.Snapshot) bool { _, ok := finished(s, id); return ok })
	run, _ := finished(s, id)
	if run.State != api.RunSuccess || len(run.Tasks) != 2 || run.Tasks[0].ID != "a" {
		t.Fatalf("run %+v", run)
	}
	if _, err := e.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLooksSecret(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"password": true, "db_password": true, "DBPassword": true, "secret": true, "client_secret": true,
		"token": true, "accessToken": true, "api_key": true, "apiKey": true, "key": true, "X-Api-Key": true,
		"credentials": true, "apikey": true,
		"run": false, "dag": false, "monkey": false, "keyboard": false, "err": false, "topic": false, "partition": false,
	}
	for key, want := range cases {
		if got := looksSecret(key); got != want {
			t.Errorf("looksSecret(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestTeeHandlerRedactsAndKeepsRing(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	ring := NewLogRing(3)
	log := slog.New(NewTeeHandler(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), ring, slog.LevelInfo))
	log = log.With("component", "s3", "token", "abc123")
	log.Debug("only to the handler")
	log.WithGroup("req").Info("calling", "url", "http://x", slog.Group("auth", "password", "hunter2", "user", "bob"))
	log.Info("two")
	log.Warn("three", "api_key", "k-999")
	log.Error("four with spaces", "err", "it broke = badly")

	for _, leak := range []string{"abc123", "hunter2", "k-999"} {
		if strings.Contains(out.String(), leak) {
			t.Fatalf("secret %q reached the handler: %s", leak, out.String())
		}
	}
	if !strings.Contains(out.String(), "only to the handler") || !strings.Contains(out.String(), Redacted) {
		t.Fatalf("handler output %s", out.String())
	}
	recs := ring.Records()
	if len(recs) != 3 || recs[0].Msg != "two" || recs[2].Msg != "four with spaces" {
		t.Fatalf("ring %+v", recs)
	}
	if recs[1].Attrs != "component=s3 token=[REDACTED] api_key=[REDACTED]" || recs[1].Level != slog.LevelWarn {
		t.Fatalf("attrs %q", recs[1].Attrs)
	}
	if recs[2].Attrs != `component=s3 token=[REDACTED] err="it broke = badly"` {
		t.Fatalf("attrs %q", recs[2].Attrs)
	}

	ring2 := NewLogRing(10)
	slog.New(NewTeeHandler(nil, ring2, nil)).WithGroup("req").Info("calling", "url", "u", slog.Group("auth", "password", "p", "user", "bob"))
	if got := ring2.Records()[0].Attrs; got != "req.url=u req.auth.password=[REDACTED] req.auth.user=bob" {
		t.Fatalf("grouped attrs %q", got)
	}
}

func TestSnapshotCarriesLogs(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{}, newFakeSource(t, nil))
	ch, done := e.Subscribe()
	defer done()
	e.Logger().Info("hello from a component", "secret", "s3cr3t")
	select {
	case ev := <-ch:
		if ev.Topics&api.TopicLogs == 0 {
			t.Fatalf("event %v", ev.Topics)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no log event")
	}
	logs := e.Snapshot().Logs
	last := logs[len(logs)-1]
	if last.Msg != "hello from a component" || last.Attrs != "secret=[REDACTED]" {
		t.Fatalf("last log %+v", last)
	}
}
