package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/sluice-dev/sluice/engine/dag"
)

// s3ListPageSize is the most keys one ListObjectsV2 page returns.
const s3ListPageSize = 1000

// s3Source is a bucket below a prefix. The listing carries ETag and size,
// so only objects whose ETag or size changed are ever fetched.
type s3Source struct {
	cfg    Config
	bucket string
	prefix string // "" or ending in "/"
	log    *slog.Logger

	mu     sync.Mutex
	client *s3.Client // built on first use; a config error is retried next scan
}

// NewS3Source returns a source that reads DAG files from cfg.S3Bucket below
// cfg.S3Prefix, with the standard AWS configuration chain. The SDK logs
// through log, never to stderr.
func NewS3Source(cfg Config, log *slog.Logger) Source {
	prefix := strings.TrimLeft(cfg.S3Prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &s3Source{cfg: cfg, bucket: cfg.S3Bucket, prefix: prefix, log: log}
}

func (s *s3Source) Name() string     { return SourceS3 }
func (s *s3Source) Location() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *s3Source) clientFor(ctx context.Context) (*s3.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	sdkLog := sdkLogger(s.log)
	awsCfg, err := config.LoadDefaultConfig(ctx,
		config.WithLogger(sdkLog),
		// The SDK's default client has no overall timeout: an endpoint
		// that accepts and never answers would hold a scan forever.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(s.cfg.s3RequestTimeout())),
		// "when supported" validates (and warns about) checksums on every
		// GET; S3-compatible stores often send none.
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if s.cfg.S3Endpoint == "" {
			return nil, errors.New("no AWS region: set AWS_REGION or a profile with a region")
		}
		// S3-compatible stores accept any region in the signature.
		awsCfg.Region = "us-east-1"
	}
	awsCfg.Logger = sdkLog
	opts := []func(*s3.Options){func(o *s3.Options) {
		if s.cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(s.cfg.S3Endpoint)
		}
		o.UsePathStyle = s.cfg.pathStyle()
		o.Logger = sdkLog
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}}
	s.client = s3.NewFromConfig(awsCfg, append(opts, s.cfg.S3ClientOptions...)...)
	return s.client, nil
}

// List pages through ListObjectsV2. Any failure, on any page, fails the
// whole listing: a partial listing must never read as deleted files.
func (s *s3Source) List(ctx context.Context) (Listing, error) {
	client, err := s.clientFor(ctx)
	if err != nil {
		return Listing{}, fmt.Errorf("listing %s: %w", s.Location(), err)
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)}
	if s.prefix != "" {
		in.Prefix = aws.String(s.prefix)
	}
	pages := s3.NewListObjectsV2Paginator(client, in, func(o *s3.ListObjectsV2PaginatorOptions) {
		o.Limit = s3ListPageSize
		o.StopOnDuplicateToken = true
	})
	var out Listing
	seen := make(map[string]bool)
	truncated := false
	for pages.HasMorePages() {
		page, err := s.listPage(ctx, pages)
		if err != nil {
			return Listing{}, err
		}
		truncated = aws.ToBool(page.IsTruncated)
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			rel := strings.TrimPrefix(key, s.prefix)
			if strings.HasSuffix(rel, "/") || seen[rel] {
				continue // folder marker, or a key repeated across pages
			}
			seen[rel] = true
			if !dag.IsDAGFile(rel) {
				continue
			}
			if !safeKey(rel) {
				out.Problems = append(out.Problems, fmt.Sprintf("refused key %q: not a plain relative path", key))
				continue
			}
			if !isDAGKey(rel) {
				continue
			}
			size := aws.ToInt64(obj.Size)
			out.Objects = append(out.Objects, Object{
				Key:      rel,
				Location: "s3://" + s.bucket + "/" + key,
				Version:  aws.ToString(obj.ETag) + ":" + strconv.FormatInt(size, 10),
				Size:     size,
			})
		}
	}
	if truncated {
		// The paginator stops on a repeated continuation token; what it
		// listed so far is not the whole bucket.
		return Listing{}, fmt.Errorf("listing %s: the server repeated a continuation token; listing incomplete", s.Location())
	}
	return out, nil
}

// Read fetches one object, at most one byte past dag.MaxFileSize.
func (s *s3Source) Read(ctx context.Context, o Object) ([]byte, error) {
	if o.Size > dag.MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", dag.ErrTooLarge, o.Size, dag.MaxFileSize)
	}
	client, err := s.clientFor(ctx)
	if err != nil {
		return nil, err
	}
	op := "fetching " + o.Location
	reqCtx, cancel, start := s.request(ctx)
	defer cancel()
	resp, err := client.GetObject(reqCtx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.prefix + o.Key),
	})
	if err != nil {
		return nil, s.explain(ctx, reqCtx, op, start, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, dag.MaxFileSize+1))
	if err != nil {
		return nil, s.explain(ctx, reqCtx, op, start, err)
	}
	return data, nil
}

// listPage fetches the next page of a listing within one request timeout.
func (s *s3Source) listPage(ctx context.Context, pages *s3.ListObjectsV2Paginator) (*s3.ListObjectsV2Output, error) {
	reqCtx, cancel, start := s.request(ctx)
	defer cancel()
	page, err := pages.NextPage(reqCtx)
	if err != nil {
		return nil, s.explain(ctx, reqCtx, "listing "+s.Location(), start, err)
	}
	return page, nil
}

// request bounds one S3 request, its retries and its body by the request
// timeout. The HTTP client's own timeout bounds each attempt; without this
// the SDK's three attempts (and backoff between them) would make a hung
// endpoint cost three timeouts and more.
func (s *s3Source) request(ctx context.Context) (context.Context, context.CancelFunc, time.Time) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.s3RequestTimeout())
	return ctx, cancel, start
}

// explain puts a timeout in words: the SDK's own message buries it under
// "operation error S3: ListObjectsV2, canceled, context deadline
// exceeded". A cut that came from ctx (the scan's deadline, a cancel) is
// left to the caller.
func (s *s3Source) explain(ctx, reqCtx context.Context, op string, start time.Time, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var ne net.Error
	if errors.Is(reqCtx.Err(), context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &TimeoutError{Op: op, Endpoint: s.endpoint(), Limit: s.cfg.s3RequestTimeout(),
			Waited: time.Since(start), Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// endpoint is where the requests go: the configured endpoint, else AWS in
// the client's region.
func (s *s3Source) endpoint() string {
	if s.cfg.S3Endpoint != "" {
		return s.cfg.S3Endpoint
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		if o := s.client.Options(); o.BaseEndpoint != nil {
			return *o.BaseEndpoint
		} else if o.Region != "" {
			return "AWS S3 (" + o.Region + ")"
		}
	}
	return "AWS S3"
}

// sdkLogger routes the AWS SDK's log lines to slog. The SDK's default
// logger writes to stderr, which would tear through a terminal UI.
func sdkLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "aws-sdk")
	})
}
