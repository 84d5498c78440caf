// Package demoenv is the embedded platform `sluice demo` runs the console
// against: the repository's dags/ folder as the local source, an in-process
// S3 server (gofakes3) seeded with more DAGs as the S3 source — reached by
// the engine through the real aws-sdk-go-v2 client — an embedded Kafka
// broker (kfake) with a producer feeding the demo sensor's topic, a dbt
// project in a real git repository with a bare origin, and stand-ins for
// Mode's and GitHub's APIs on loopback ports, all reached through the real
// clients; and a throwaway state directory. It lives outside the engine on
// purpose: nothing here is product code, it only stands in for the
// infrastructure a real deployment has.
//
// Each stand-in is one field of Env with its own start and Close.
package demoenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice/engine/loader"
)

// Options tune the demo environment.
type Options struct {
	// DAGsDir is the folder of example DAGs (the repository's dags/); the
	// demo serves a copy of it in its state dir, so editing a DAG in the
	// demo never touches the repository. "" runs with the S3 source only.
	DAGsDir string
	// StateDir holds the engine's state; "" makes a temporary one that
	// Close removes.
	StateDir string
	// ScanInterval is the loader's periodic rescan (default 10s, so edits
	// to S3 objects show quickly).
	ScanInterval time.Duration
	// ChurnEvery, when positive, edits one S3 object that often, breaking
	// and mending it in turn, so the tree shows an invalid file whose last
	// good version stays active, and a rescan has something to report.
	ChurnEvery time.Duration
	// Log receives the stand-ins' own logging; nil discards it.
	Log *slog.Logger

	// NoKafka leaves out the embedded broker and its producer: the demo
	// sensor is then listed without brokers.
	NoKafka bool
	// KafkaRate is the producer's messages per second (default 300).
	KafkaRate float64
	// NoMeta leaves out the dbt repository and the Mode and GitHub
	// stand-ins: the engine then has no metapipeline.
	NoMeta bool
}

// Env is a running demo environment.
type Env struct {
	// StateDir is the engine's state directory.
	StateDir string
	// DAGsDir is the local DAG source: STATE_DIR/dags, a copy of
	// Options.DAGsDir made at the first start ("" when none).
	DAGsDir string
	// LogPath is this demo's own log file: STATE_DIR/console.log for a
	// kept state dir, otherwise a new file in the temporary directory
	// (it outlives the temporary state dir).
	LogPath string
	// S3 is the in-process S3 server holding the second DAG source.
	S3 *S3

	// Loader is the loading configuration pointing at both sources, with
	// static credentials for the fake S3 and the demo's scan interval.
	Loader loader.Config

	// Kafka is the embedded broker with its producer on DemoTopic (nil
	// with NoKafka).
	Kafka *Kafka
	// DBT is the demo dbt repository; Mode and GitHub the API stand-ins
	// (nil with NoMeta).
	DBT    DBT
	Mode   *Mode
	GitHub *GitHub

	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}
	tempDir bool
}

// Start brings the environment up. Close it when done.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.ScanInterval <= 0 {
		opts.ScanInterval = 10 * time.Second
	}
	e := &Env{log: opts.Log, done: make(chan struct{})}
	var examples string
	if opts.DAGsDir != "" {
		abs, err := filepath.Abs(opts.DAGsDir)
		if err != nil {
			return nil, fmt.Errorf("demo dags folder %q: %w", opts.DAGsDir, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("demo dags folder %q not found: run from the repository root or pass --dags-dir", opts.DAGsDir)
		}
		examples = abs
	}
	if opts.StateDir == "" {
		dir, err := os.MkdirTemp("", "sluice-demo-")
		if err != nil {
			return nil, fmt.Errorf("creating the demo state dir: %w", err)
		}
		e.StateDir, e.tempDir = dir, true
	} else {
		if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the demo state dir: %w", err)
		}
		e.StateDir = opts.StateDir
	}
	if err := e.placeLog(); err != nil {
		_ = e.Close()
		return nil, err
	}
	if examples != "" {
		dir, err := copyExamples(examples, filepath.Join(e.StateDir, "dags"))
		if err != nil {
			_ = e.Close()
			return nil, err
		}
		e.DAGsDir = dir
	}

	s3srv, err := StartS3(opts.Log.With("component", "demo-s3"))
	if err != nil {
		_ = e.Close()
		return nil, err
	}
	e.S3 = s3srv
	if err := s3srv.Seed(); err != nil {
		_ = e.Close()
		return nil, err
	}

	if !opts.NoKafka {
		k, err := StartKafka(ctx, KafkaOptions{Topic: DemoTopic, Rate: opts.KafkaRate,
			Logger: opts.Log.With("component", "demo-kafka")})
		if err != nil {
			_ = e.Close()
			return nil, fmt.Errorf("starting the demo kafka broker: %w", err)
		}
		e.Kafka = k
	}
	if !opts.NoMeta {
		now := time.Now()
		e.Mode = StartMode(now, opts.Log.With("component", "demo-mode"))
		e.GitHub = StartGitHub(opts.Log.With("component", "demo-github"))
		if e.DBT, err = setupDBT(filepath.Join(e.StateDir, "demo"), now); err != nil {
			_ = e.Close()
			return nil, err
		}
	}

	e.Loader = loader.Config{
		Dir:             e.DAGsDir,
		ScanInterval:    opts.ScanInterval,
		Enabled:         true,
		S3Bucket:        Bucket,
		S3Prefix:        Prefix,
		S3Endpoint:      s3srv.URL,
		Env:             func(string) (string, bool) { return "", false },
		S3ClientOptions: s3srv.ClientOptions(),
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	go func() {
		defer close(e.done)
		if opts.ChurnEvery > 0 {
			s3srv.churn(runCtx, opts.ChurnEvery)
		}
	}()
	return e, nil
}

// Close stops every stand-in and removes a temporary state directory.
func (e *Env) Close() error {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	var errs []error
	if e.Kafka != nil {
		e.Kafka.Stop()
	}
	if e.Mode != nil {
		e.Mode.Close()
	}
	if e.GitHub != nil {
		e.GitHub.Close()
	}
	if e.S3 != nil {
		errs = append(errs, e.S3.Close())
	}
	if e.tempDir {
		errs = append(errs, os.RemoveAll(e.StateDir))
		// A log nobody wrote to is noise in the temporary directory.
		if fi, err := os.Stat(e.LogPath); err == nil && fi.Size() == 0 {
			errs = append(errs, os.Remove(e.LogPath))
		}
	}
	return errors.Join(errs...)
}

// copyExamples copies the example DAGs into the demo's own folder, once: a
// kept state dir keeps the edits made there. The demo serves the copy, so
// "edit a DAG and rescan" leaves the repository clean. The state dir may lie
// inside the examples folder; the copy never copies itself.
func copyExamples(from, to string) (string, error) {
	if _, err := os.Stat(to); err == nil {
		return to, nil
	}
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == to {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("copying the example DAGs from %q to %q: %w", from, to, err)
	}
	return to, nil
}

// placeLog picks this demo's own log file, so two demos never write into
// one log.
func (e *Env) placeLog() error {
	if !e.tempDir {
		e.LogPath = filepath.Join(e.StateDir, "console.log")
		return nil
	}
	f, err := os.CreateTemp("", "sluice-demo-*.log")
	if err != nil {
		return fmt.Errorf("creating the demo log: %w", err)
	}
	e.LogPath = f.Name()
	return f.Close()
}
