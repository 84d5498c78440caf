package loader

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

func hungS3Config(t *testing.T, dir string) (Config, <-chan struct{}) {
	url, accepted := enginetest.HungEndpoint(t)
	cfg := localConfig(dir)
	cfg.S3Bucket, cfg.S3Endpoint = "dags", url
	cfg.S3ClientOptions = []func(*s3.Options){func(o *s3.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
		})
		o.RetryMaxAttempts = 1
	}}
	return cfg, accepted
}

// TestHungS3NeverDelaysLocalDAGs: with an S3 endpoint that accepts and
// never answers, Start returns with the local DAGs loaded, and a new local
// file is picked up while S3 scans hang.
func TestHungS3NeverDelaysLocalDAGs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "daily.json", dagJSON("daily", 1))
	cfg, accepted := hungS3Config(t, dir)
	cfg.S3RequestTimeout = time.Hour // only independence can save startup
	cfg.ScanInterval = 20 * time.Millisecond
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- l.Start(context.Background()) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Start waits for a hung S3 endpoint")
	}
	t.Cleanup(l.Stop)
	if d, ok := l.Lookup("daily"); !ok || d.Description != "daily" {
		t.Fatalf("local DAG not loaded at Start:\n%s", dump(l.DAGs()))
	}
	select {
	case <-accepted:
	case <-time.After(waitTimeout):
		t.Fatal("the S3 source never reached the endpoint")
	}
	// Periodic scans now hang on S3 (each holds its request for an
	// hour); local changes still arrive.
	enginetest.WriteDAG(t, dir, "late.json", dagJSON("late", 1))
	waitFor(t, l, "the new local DAG", hasStatus("late", api.DAGActive))
}

// TestHungS3ScanGivesUp: a scan of a hung endpoint fails with a clear
// message within its timeouts, and the local source's result stands. The
// request timeout covers the SDK's retries: with its standard three
// attempts, a hung endpoint still costs one timeout, not three, and the
// message says how long was waited, for what, and where.
func TestHungS3ScanGivesUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		request, deadline time.Duration
		attempts          int
		want              string
	}{
		{"request timeout", 400 * time.Millisecond, time.Hour, 1, "within the S3 request timeout (400ms, retries included)"},
		{"request timeout with retries", 400 * time.Millisecond, time.Hour, 3, "within the S3 request timeout (400ms, retries included)"},
		{"scan deadline", time.Hour, 400 * time.Millisecond, 3, "within the scan deadline (400ms)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			enginetest.WriteDAG(t, dir, "daily.json", dagJSON("daily", 1))
			cfg, _ := hungS3Config(t, dir)
			cfg.S3Prefix = "team"
			cfg.S3ClientOptions = append(cfg.S3ClientOptions, func(o *s3.Options) { o.RetryMaxAttempts = tc.attempts })
			cfg.S3RequestTimeout, cfg.ScanTimeout = tc.request, tc.deadline
			limit := min(tc.request, tc.deadline)
			l, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			start := time.Now()
			res, err := l.ScanNow(ctx)
			took := time.Since(start)
			if ctx.Err() != nil {
				t.Fatal("ScanNow did not give up on a hung endpoint")
			}
			// Three attempts of the request timeout would take 3×limit.
			if took < limit || took >= 2*limit {
				t.Errorf("ScanNow took %s, want within [%s, %s)", took, limit, 2*limit)
			}
			var te *TimeoutError
			if !errors.Is(err, ErrSourceFailed) || !errors.Is(err, ErrSourceTimeout) || !errors.As(err, &te) {
				t.Fatalf("ScanNow error = %v, want a timeout failure", err)
			}
			if te.Scan != (tc.deadline < tc.request) || te.Limit != limit || te.Waited < limit || te.Waited >= 2*limit ||
				te.Endpoint != cfg.S3Endpoint {
				t.Errorf("timeout %+v, want limit %s waited and endpoint %s", te, limit, cfg.S3Endpoint)
			}
			for _, want := range []string{tc.want, "s3://dags/team/", "no answer from " + cfg.S3Endpoint, "gave up after "} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("ScanNow error %q, want it to say %q", err, want)
				}
			}
			if res.Failed != 1 || res.Changed != 1 {
				t.Errorf("result %+v, want S3 failed and the local DAG loaded", res)
			}
			for _, src := range l.Sources() {
				if src.Name == SourceS3 && (src.OK || !strings.Contains(src.Error, tc.want)) {
					t.Errorf("S3 health %+v", src)
				}
			}
		})
	}
}

// TestSlowStarlarkDoesNotDelayStart: a Starlark file still evaluating
// (held inside env()) does not hold Start; it appears when done.
func TestSlowStarlarkDoesNotDelayStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "daily.json", dagJSON("daily", 1))
	for _, name := range []string{"slow1.star", "slow2.star", "slow3.star"} {
		enginetest.WriteDAG(t, dir, name, `desc = env("SLUICE_DAG_GATE", "")
dag = {"description": desc, "nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	}
	gate := make(chan struct{})
	cfg := localConfig(dir)
	cfg.Env = func(name string) (string, bool) {
		<-gate
		return "evaluated", true
	}
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- l.Start(context.Background()) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		close(gate)
		t.Fatal("Start waits for Starlark files")
	}
	t.Cleanup(l.Stop)
	if _, ok := l.Lookup("daily"); !ok {
		t.Fatalf("JSON DAG not loaded at Start:\n%s", dump(l.DAGs()))
	}
	if _, ok := l.Lookup("slow1"); ok {
		t.Fatal("a Starlark file held at its gate is loaded already")
	}
	close(gate)
	for _, name := range []string{"slow1", "slow2", "slow3"} {
		waitFor(t, l, name, hasDescription(l, name, "evaluated"))
	}
}
