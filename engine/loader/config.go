package loader

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/gitauth"
)

// Defaults of the loading configuration.
const (
	DefaultDir          = "./dags"
	DefaultScanInterval = 30 * time.Second
	// DefaultS3RequestTimeout bounds one S3 request, its retries and body
	// included: an endpoint that accepts and never answers fails the scan
	// after one timeout, not the engine.
	DefaultS3RequestTimeout = 15 * time.Second
	// DefaultScanTimeout bounds one source's whole scan (listing every page
	// and reading what changed).
	DefaultScanTimeout = 2 * time.Minute
)

// Config says where DAGs come from.
type Config struct {
	Dir          string        // local folder; empty: no local source
	ScanInterval time.Duration // periodic rescan (default 30s)
	Enabled      bool          // false loads nothing
	S3Bucket     string        // empty: no S3 source
	S3Prefix     string
	S3Endpoint   string // endpoint override, for tests and MinIO
	S3PathStyle  *bool  // default true when S3Endpoint is set
	// S3RequestTimeout bounds each S3 request, the SDK's retries included
	// (default 15s); ScanTimeout
	// bounds one source's scan (default 2m). A source past either fails its
	// scan and keeps its DAGs; other sources never wait for it.
	S3RequestTimeout time.Duration
	ScanTimeout      time.Duration
	// GitURL is a git repository of DAG files (a URL or a path); empty: no
	// git source. GitRef is the branch or tag to load (default: the
	// remote's HEAD), GitPath the folder in it ("" for the root).
	GitURL  string
	GitRef  string
	GitPath string
	// GitMirrorDir holds the bare mirrors of git sources (the engine sets
	// StateDir/git). GitCredentials authenticate fetches; never logged.
	GitMirrorDir   string
	GitCredentials gitauth.Credentials
	// GitTokenForURL says the token was given for this repository
	// (DAGS_GIT_TOKEN): it may go to GitURL's host as well.
	GitTokenForURL bool
	// Env answers env() in Starlark files; nil uses the process environment.
	Env func(string) (string, bool)
	// EnvAllow names the variables, beyond SLUICE_DAG_*, that env() in
	// Starlark files may read; any other reads as unset.
	EnvAllow []string

	// Clock stamps what the loader records (first and last seen, scan
	// times, next fire times); nil is the real clock. Debounce and scan
	// deadlines run on real time.
	Clock clock.Clock

	// S3ClientOptions are applied last to the S3 client's options, after the
	// standard AWS configuration chain: tests use them for static
	// credentials and a single attempt per request.
	S3ClientOptions []func(*s3.Options)
}

// pathStyle resolves the S3 addressing: explicit setting, else path style
// exactly when a custom endpoint is configured (MinIO and friends rarely
// serve virtual-hosted buckets).
func (c Config) pathStyle() bool {
	if c.S3PathStyle != nil {
		return *c.S3PathStyle
	}
	return c.S3Endpoint != ""
}

func (c Config) s3RequestTimeout() time.Duration {
	if c.S3RequestTimeout > 0 {
		return c.S3RequestTimeout
	}
	return DefaultS3RequestTimeout
}

func (c Config) scanTimeout() time.Duration {
	if c.ScanTimeout > 0 {
		return c.ScanTimeout
	}
	return DefaultScanTimeout
}
