package demoenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
)

func setup(t *testing.T, opts Options) *Env {
	t.Helper()
	if opts.DAGsDir == "" {
		opts.DAGsDir = t.TempDir()
		data := `{"schedule": "@every 10s", "nodes": [{"id": "a", "type": "sluice.sleep", "config": {"duration": "1s"}}]}`
		if err := os.WriteFile(filepath.Join(opts.DAGsDir, "local_one.json"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	return env
}

// The loader, with the real SDK client, sees both sources: the local
// folder and the seeded bucket, including the broken file with its errors.
func TestLoaderSeesBothSources(t *testing.T) {
	t.Parallel()
	env := setup(t, Options{NoKafka: true, NoMeta: true})
	l, err := loader.New(env.Loader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	// S3 is scanned in the background at start: an explicit scan waits
	// for every source.
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	byName := map[string]api.DAG{}
	for _, d := range l.DAGs() {
		byName[d.Name+"@"+d.Source] = d
	}
	for _, want := range []string{"local_one@local", "reports/hourly_rollup@s3", "ml/train_model@s3", "ml/score@s3"} {
		if d, ok := byName[want]; !ok || d.Status != api.DAGActive {
			t.Errorf("%s: %+v (found %v), want active", want, d.Status, ok)
		}
	}
	broken := byName["reports/broken@s3"]
	if broken.Status != api.DAGInvalid || len(broken.Errors) == 0 {
		t.Errorf("reports/broken: status %q, %d errors; want invalid with errors", broken.Status, len(broken.Errors))
	}
	for _, s := range l.Sources() {
		if !s.OK {
			t.Errorf("source %s not OK: %s", s.Name, s.Error)
		}
	}
}

// Churn breaks and mends one object through the S3 protocol.
func TestChurnEditsTheObject(t *testing.T) {
	t.Parallel()
	env := setup(t, Options{ChurnEvery: 20 * time.Millisecond, NoKafka: true, NoMeta: true})
	client := s3.New(s3.Options{BaseEndpoint: aws.String(env.S3.URL), UsePathStyle: true, Region: "us-east-1"}, env.S3.ClientOptions()...)
	seen := map[bool]bool{}
	if !enginetest.Poll(10*time.Second, func() bool {
		out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(Bucket), Key: aws.String(ChurnKey)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(out.Body)
		out.Body.Close()
		seen[strings.Contains(string(body), "two seconds")] = true
		return seen[true] && seen[false]
	}) {
		t.Fatalf("the object did not alternate: seen %v", seen)
	}
}

func TestTempStateDirRemoved(t *testing.T) {
	t.Parallel()
	env, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := env.StateDir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("state dir: %v", err)
	}
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary state dir left behind: %v", err)
	}
}

func TestMissingDAGsDirIsClear(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Options{DAGsDir: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "--dags-dir") {
		t.Fatalf("err = %v, want a hint about --dags-dir", err)
	}
}

// The demo end to end without a screen: the real engine on this
// environment runs the first demo runs to success, the flaky one after
// retries, with both sources loaded.
func TestEngineRunsTheDemo(t *testing.T) {
	t.Parallel()
	env := setup(t, Options{DAGsDir: filepath.Join("..", "..", "..", "dags"), NoKafka: true, NoMeta: true})
	eng, err := engine.New(env.EngineConfig(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()
	env.EngineStarted(ctx, eng, slog.New(slog.DiscardHandler))

	events, unsubscribe := eng.Subscribe()
	defer unsubscribe()
	done := map[string]api.Run{}
	if !enginetest.PollOn(events, 60*time.Second, func() bool {
		for _, r := range eng.Snapshot().Runs.Finished {
			if r.Trigger == "manual" && (r.DAG == "demo/heartbeat" || r.DAG == "demo/flaky") {
				done[r.DAG] = r
			}
		}
		return len(done) == 2
	}) {
		t.Fatalf("the first demo runs did not finish; finished: %v", done)
	}
	for name, r := range done {
		if r.State != api.RunSuccess {
			t.Errorf("%s: %s (%s), want success", name, r.State, r.Error)
		}
	}
	var retried bool
	for _, task := range done["demo/flaky"].Tasks {
		if task.ID == "unreliable" && task.Attempt == 3 {
			retried = true
		}
	}
	if !retried {
		t.Errorf("demo/flaky's unreliable task did not succeed on its third attempt: %+v", done["demo/flaky"].Tasks)
	}
	sources := map[string]bool{}
	for _, s := range eng.Snapshot().Sources {
		sources[s.Name] = s.OK
	}
	if !sources["local"] || !sources["s3"] {
		t.Errorf("sources: %v, want local and s3 healthy", sources)
	}
}

// The demo serves a copy of the example DAGs: an edit made in the demo
// (the "edit a DAG and rescan" story) leaves the repository's folder as it
// was, and each demo logs to a file of its own.
func TestDemoServesACopyOfTheExamples(t *testing.T) {
	t.Parallel()
	examples := t.TempDir()
	orig := []byte(`{"nodes": [{"id": "a", "type": "sluice.sleep", "config": {"duration": "1s"}}]}`)
	if err := os.WriteFile(filepath.Join(examples, "one.json"), orig, 0o644); err != nil {
		t.Fatal(err)
	}
	a := setup(t, Options{DAGsDir: examples, NoKafka: true, NoMeta: true})
	b := setup(t, Options{DAGsDir: examples, NoKafka: true, NoMeta: true})
	if a.DAGsDir == examples || !strings.HasPrefix(a.DAGsDir, a.StateDir) {
		t.Fatalf("demo serves %q, want a copy inside its state dir %q", a.DAGsDir, a.StateDir)
	}
	if err := os.WriteFile(filepath.Join(a.DAGsDir, "one.json"), []byte(`{"nodes": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(examples, "one.json")); err != nil || string(got) != string(orig) {
		t.Fatalf("the example changed under the demo: %q, %v", got, err)
	}
	if a.LogPath == "" || a.LogPath == b.LogPath {
		t.Fatalf("two demos share a log: %q and %q", a.LogPath, b.LogPath)
	}
}
