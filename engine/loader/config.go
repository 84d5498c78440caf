package loader

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Defaults of the loading configuration.
const (
	DefaultDir          = "./dags"
	DefaultScanInterval = 30 * time.Second
	// DefaultS3RequestTimeout bounds one S3 request, body included: an
	// endpoint that accepts and never answers fails the scan, not the engine.
	DefaultS3RequestTimeout = 15 * time.Second
	// DefaultScanTimeout bounds one source's whole scan (listing every page
	// and reading what changed).
	DefaultScanTimeout = 2 * time.Minute
)

// Config says where DAGs come from.
type Config struct {
	Dir          string        // local folder; empty: no local source
	ScanInterval time.Duration // periodic rescan (default 30s)
	Enabled      bool          // DAGS_ENABLED: false loads nothing
	S3Bucket     string        // empty: no S3 source
	S3Prefix     string
	S3Endpoint   string // AWS_ENDPOINT_URL_S3 override, for tests and MinIO
	S3PathStyle  *bool  // default true when S3Endpoint is set
	// S3RequestTimeout bounds each S3 request (default 15s); ScanTimeout
	// bounds one source's scan (default 2m). A source past either fails its
	// scan and keeps its DAGs; other sources never wait for it.
	S3RequestTimeout time.Duration
	ScanTimeout      time.Duration
	// Env answers env() in Starlark files; nil uses the process environment.
	Env func(string) (string, bool)
	// EnvAllow names the variables, beyond SLUICE_DAG_*, that env() in
	// Starlark files may read; any other reads as unset.
	EnvAllow []string

	// S3ClientOptions are applied last to the S3 client's options, after the
	// standard AWS configuration chain: tests use them for static
	// credentials and a single attempt per request.
	S3ClientOptions []func(*s3.Options)
}

// Environment variables ConfigFromEnv reads.
const (
	EnvDir          = "DAGS_DIR"
	EnvScanInterval = "DAGS_SCAN_INTERVAL"
	EnvEnabled      = "DAGS_ENABLED"
	EnvS3Bucket     = "DAGS_S3_BUCKET"
	EnvS3Prefix     = "DAGS_S3_PREFIX"
	EnvS3PathStyle  = "DAGS_S3_PATH_STYLE"
	EnvS3Endpoint   = "AWS_ENDPOINT_URL_S3"
)

// ConfigFromEnv reads the loading configuration from the environment:
// DAGS_DIR (./dags), DAGS_SCAN_INTERVAL (seconds or a Go duration, 30s),
// DAGS_ENABLED (true), DAGS_S3_BUCKET, DAGS_S3_PREFIX, DAGS_S3_PATH_STYLE and
// AWS_ENDPOINT_URL_S3. The rest of the AWS chain (AWS_REGION, AWS_PROFILE,
// credentials) is read by the SDK itself. Env is set from getenv, so
// Starlark files see the same environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Dir:          DefaultDir,
		ScanInterval: DefaultScanInterval,
		Enabled:      true,
		S3Bucket:     getenv(EnvS3Bucket),
		S3Prefix:     getenv(EnvS3Prefix),
		S3Endpoint:   getenv(EnvS3Endpoint),
		Env: func(name string) (string, bool) {
			v := getenv(name)
			return v, v != ""
		},
	}
	if v, ok := nonEmpty(getenv, EnvDir); ok {
		cfg.Dir = v
	}
	if v, ok := nonEmpty(getenv, EnvScanInterval); ok {
		d, err := ParseInterval(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", EnvScanInterval, err)
		}
		cfg.ScanInterval = d
	}
	if v, ok := nonEmpty(getenv, EnvEnabled); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %q is not a boolean", EnvEnabled, v)
		}
		cfg.Enabled = b
	}
	if v, ok := nonEmpty(getenv, EnvS3PathStyle); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %q is not a boolean", EnvS3PathStyle, v)
		}
		cfg.S3PathStyle = &b
	}
	return cfg, nil
}

func nonEmpty(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

// ParseInterval reads a scan interval: a whole number of seconds ("30") or a
// Go duration ("1m30s"). It must be positive.
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q: too many seconds", s)
		}
		d = time.Duration(n) * time.Second
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is neither seconds nor a duration", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the interval must be positive", s)
	}
	return d, nil
}

// RegisterFlags adds the loading flags to fs with cfg's current values as
// defaults, so calling it after ConfigFromEnv makes flags win over the
// environment. Parsing fs writes into cfg.
func RegisterFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Dir, "dags-dir", cfg.Dir, "local folder of DAG files, empty for none (env "+EnvDir+")")
	fs.Var((*intervalFlag)(&cfg.ScanInterval), "scan-interval", "periodic rescan, seconds or a duration (env "+EnvScanInterval+")")
	fs.BoolVar(&cfg.Enabled, "dags-enabled", cfg.Enabled, "load DAGs at all (env "+EnvEnabled+")")
	fs.StringVar(&cfg.S3Bucket, "s3-bucket", cfg.S3Bucket, "S3 bucket of DAG files, empty for none (env "+EnvS3Bucket+")")
	fs.StringVar(&cfg.S3Prefix, "s3-prefix", cfg.S3Prefix, "key prefix of DAG files in the bucket (env "+EnvS3Prefix+")")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", cfg.S3Endpoint, "S3-compatible endpoint URL (env "+EnvS3Endpoint+")")
	fs.Var(&optionalBool{p: &cfg.S3PathStyle}, "s3-path-style", "path-style S3 addressing; default true when an endpoint is set (env "+EnvS3PathStyle+")")
}

type intervalFlag time.Duration

func (f *intervalFlag) String() string { return time.Duration(*f).String() }

func (f *intervalFlag) Set(s string) error {
	d, err := ParseInterval(s)
	if err != nil {
		return err
	}
	*f = intervalFlag(d)
	return nil
}

// optionalBool is a boolean flag whose absence is distinguishable from false.
type optionalBool struct{ p **bool }

func (f *optionalBool) String() string {
	if f.p == nil || *f.p == nil {
		return "auto"
	}
	return strconv.FormatBool(**f.p)
}

func (f *optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not a boolean", s)
	}
	*f.p = &b
	return nil
}

// IsBoolFlag lets "--s3-path-style" stand for "--s3-path-style=true".
func (f *optionalBool) IsBoolFlag() bool { return true }

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
