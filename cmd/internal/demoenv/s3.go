package demoenv

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Where the demo's S3 DAGs live.
const (
	Bucket = "sluice-demo"
	Prefix = "dags/"
	// ChurnKey is the object the demo edits now and then.
	ChurnKey = Prefix + "ml/score.json"
)

//go:embed s3dags
var s3Seed embed.FS

// S3 is gofakes3 with an in-memory backend on a loopback port: the real
// S3 HTTP protocol, so the engine's real SDK client talks to it.
type S3 struct {
	URL     string
	backend *s3mem.Backend
	srv     *http.Server
	ln      net.Listener
	served  chan struct{}
}

// StartS3 serves an empty in-memory S3 on 127.0.0.1.
func StartS3(log *slog.Logger) (*S3, error) {
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		return nil, fmt.Errorf("creating the demo bucket: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the demo S3 server: %w", err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(slogAdapter{log}))
	s := &S3{
		URL:     "http://" + ln.Addr().String(),
		backend: backend,
		srv:     &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		ln:      ln,
		served:  make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo S3 server stopped", "err", err)
		}
	}()
	return s, nil
}

// Seed puts the embedded demo DAGs into the bucket below Prefix.
func (s *S3) Seed() error {
	return fs.WalkDir(s3Seed, "s3dags", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := s3Seed.ReadFile(p)
		if err != nil {
			return err
		}
		rel := p[len("s3dags/"):]
		return s.Put(Prefix+rel, data)
	})
}

// Put writes an object.
func (s *S3) Put(key string, data []byte) error {
	if _, err := s.backend.PutObject(Bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		return fmt.Errorf("putting s3://%s/%s: %w", Bucket, key, err)
	}
	return nil
}

// ClientOptions make the SDK client use static demo credentials, so the
// demo needs no AWS configuration on the machine.
func (s *S3) ClientOptions() []func(*s3.Options) {
	return []func(*s3.Options){func(o *s3.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "demo", SecretAccessKey: "demo", Source: "sluice demo"}, nil
		})
		if o.Region == "" {
			o.Region = "us-east-1"
		}
	}}
}

// Close stops the server: in-flight requests get a moment to finish, then
// every connection is closed (an SDK client may hold a dialled connection
// that never sent a request, which a graceful shutdown waits 5s for).
func (s *S3) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.served
	return nil
}

// brokenScore is the churned object's broken version: the tree shows it as
// invalid while the last good version keeps running.
const brokenScore = `{
  "description": "Demo (S3): an edit gone wrong",
  "schedule": "@every 15s",
  "nodes": [
    {"id": "score", "type": "sluice.sleep", "config": {"duration": "two seconds"}}
  ]
}
`

// churn alternately breaks and mends ChurnKey until ctx ends.
func (s *S3) churn(ctx context.Context, every time.Duration) {
	good, err := s3Seed.ReadFile(path.Join("s3dags", ChurnKey[len(Prefix):]))
	if err != nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	broken := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			broken = !broken
			data := good
			if broken {
				data = []byte(brokenScore)
			}
			_ = s.Put(ChurnKey, data)
		}
	}
}

// slogAdapter routes gofakes3's logger to slog: errors as warnings (a demo
// request gone wrong), the rest at debug.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Print(level gofakes3.LogLevel, v ...any) {
	msg := fmt.Sprint(v...)
	if level == gofakes3.LogErr {
		a.log.Warn("demo S3", "msg", msg)
		return
	}
	a.log.Debug("demo S3", "msg", msg)
}
