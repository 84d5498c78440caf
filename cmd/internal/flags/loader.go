package flags

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/gitauth"
	"github.com/sluice-dev/sluice/engine/loader"
)

// Environment variables LoaderFromEnv reads.
const (
	EnvDAGsDir          = "DAGS_DIR"
	EnvScanInterval     = "DAGS_SCAN_INTERVAL"
	EnvDAGsEnabled      = "DAGS_ENABLED"
	EnvS3Bucket         = "DAGS_S3_BUCKET"
	EnvS3Prefix         = "DAGS_S3_PREFIX"
	EnvS3PathStyle      = "DAGS_S3_PATH_STYLE"
	EnvS3Endpoint       = "AWS_ENDPOINT_URL_S3"
	EnvS3RequestTimeout = "DAGS_S3_REQUEST_TIMEOUT"
	EnvScanTimeout      = "DAGS_SCAN_TIMEOUT"
	EnvGitURL           = "DAGS_GIT_URL"
	EnvGitRef           = "DAGS_GIT_REF"
	EnvGitPath          = "DAGS_GIT_PATH"
	// EnvGitToken is a token for the DAG repository alone: it may go to
	// the repository's host (over HTTPS, after a challenge). Without it,
	// GITHUB_TOKEN is used under the review's rules (GitHub's hosts and
	// GITHUB_TOKEN_HOSTS only).
	EnvGitToken = "DAGS_GIT_TOKEN"
	// EnvGitSSHKey is an SSH key for the DAG repository (default:
	// SLUICE_SSH_KEY, else the SSH agent).
	EnvGitSSHKey = "DAGS_GIT_SSH_KEY"
	// EnvSSHKnownHosts lists the known_hosts files an SSH remote's host
	// key is checked against (default ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts); OpenSSH's and go-git's name for it.
	EnvSSHKnownHosts = "SSH_KNOWN_HOSTS"
	// EnvDAGsEnvAllow lists (comma-separated) the variables beyond
	// SLUICE_DAG_* that env() in Starlark DAG files may read.
	EnvDAGsEnvAllow = "SLUICE_DAGS_ENV_ALLOW"
)

// Names of the loader's timeout flags, for messages that say how to
// change them.
const (
	FlagS3RequestTimeout = "s3-request-timeout"
	FlagScanTimeout      = "scan-timeout"
)

// LoaderFromEnv reads the loading configuration from the environment:
// DAGS_DIR (./dags), DAGS_SCAN_INTERVAL (seconds or a Go duration, 30s),
// DAGS_ENABLED (true), DAGS_S3_BUCKET, DAGS_S3_PREFIX, DAGS_S3_PATH_STYLE,
// AWS_ENDPOINT_URL_S3, DAGS_S3_REQUEST_TIMEOUT (15s), DAGS_SCAN_TIMEOUT (2m),
// SLUICE_DAGS_ENV_ALLOW, and for the git source DAGS_GIT_URL, DAGS_GIT_REF,
// DAGS_GIT_PATH and its credentials (DAGS_GIT_TOKEN or GITHUB_TOKEN,
// GITHUB_TOKEN_HOSTS, SLUICE_GITHUB_HTTP_LOOPBACK, DAGS_GIT_SSH_KEY or
// SLUICE_SSH_KEY, SSH_KNOWN_HOSTS). The rest of the AWS chain (AWS_REGION,
// AWS_PROFILE, credentials) is read by the SDK itself. Env is set from
// getenv, so Starlark files see the same environment (through the
// allow-list).
func LoaderFromEnv(getenv func(string) string) (loader.Config, error) {
	cfg := loader.Config{
		Dir:              loader.DefaultDir,
		ScanInterval:     loader.DefaultScanInterval,
		Enabled:          true,
		S3Bucket:         getenv(EnvS3Bucket),
		S3Prefix:         getenv(EnvS3Prefix),
		S3Endpoint:       getenv(EnvS3Endpoint),
		S3RequestTimeout: loader.DefaultS3RequestTimeout,
		ScanTimeout:      loader.DefaultScanTimeout,
		EnvAllow:         DAGsEnvAllowFromEnv(getenv),
		Env:              StarlarkEnv(getenv),
		GitURL:           getenv(EnvGitURL),
		GitRef:           getenv(EnvGitRef),
		GitPath:          getenv(EnvGitPath),
	}
	creds, err := gitCredentialsFromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	cfg.GitCredentials, cfg.GitTokenForURL = creds, getenv(EnvGitToken) != ""
	if v, ok := nonEmpty(getenv, EnvDAGsDir); ok {
		cfg.Dir = v
	}
	if v, ok := nonEmpty(getenv, EnvScanInterval); ok {
		d, err := ParseInterval(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", EnvScanInterval, err)
		}
		cfg.ScanInterval = d
	}
	if v, ok := nonEmpty(getenv, EnvDAGsEnabled); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %q is not a boolean", EnvDAGsEnabled, v)
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
	for _, d := range []struct {
		env string
		p   *time.Duration
	}{{EnvS3RequestTimeout, &cfg.S3RequestTimeout}, {EnvScanTimeout, &cfg.ScanTimeout}} {
		if v, ok := nonEmpty(getenv, d.env); ok {
			if err := (positiveDuration{d.p}).Set(v); err != nil {
				return cfg, fmt.Errorf("%s: %w", d.env, err)
			}
		}
	}
	return cfg, nil
}

// StarlarkEnv answers env() in Starlark files from getenv: a variable set
// to "" reads as unset. (The loader's allow-list decides which names a
// file may ask for at all.)
func StarlarkEnv(getenv func(string) string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	}
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

// RegisterLoader adds the loading flags to fs with cfg's current values as
// defaults, so calling it after LoaderFromEnv makes flags win over the
// environment. Parsing fs writes into cfg.
func RegisterLoader(fs *flag.FlagSet, cfg *loader.Config) {
	fs.StringVar(&cfg.Dir, "dags-dir", cfg.Dir, "local folder of DAG files, empty for none (env "+EnvDAGsDir+")")
	fs.Var((*intervalFlag)(&cfg.ScanInterval), "scan-interval", "periodic rescan, seconds or a duration (env "+EnvScanInterval+")")
	fs.BoolVar(&cfg.Enabled, "dags-enabled", cfg.Enabled, "load DAGs at all (env "+EnvDAGsEnabled+")")
	fs.StringVar(&cfg.S3Bucket, "s3-bucket", cfg.S3Bucket, "S3 bucket of DAG files, empty for none (env "+EnvS3Bucket+")")
	fs.StringVar(&cfg.S3Prefix, "s3-prefix", cfg.S3Prefix, "key prefix of DAG files in the bucket (env "+EnvS3Prefix+")")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", cfg.S3Endpoint, "S3-compatible endpoint URL (env "+EnvS3Endpoint+")")
	fs.Var(&optionalBool{p: &cfg.S3PathStyle}, "s3-path-style", "path-style S3 addressing; default true when an endpoint is set (env "+EnvS3PathStyle+")")
	fs.Var(positiveDuration{&cfg.S3RequestTimeout}, FlagS3RequestTimeout, "give up on one S3 request, its retries and body included, after this long (env "+EnvS3RequestTimeout+")")
	fs.Var(positiveDuration{&cfg.ScanTimeout}, FlagScanTimeout, "give up on one source's scan (listing and reading what changed) after this long; its DAGs are kept (env "+EnvScanTimeout+")")
	fs.StringVar(&cfg.GitURL, "dags-git", cfg.GitURL, "git repository of DAG files (URL or path), fetched on the scan interval into a mirror in the state dir; empty for none (env "+EnvGitURL+")")
	fs.StringVar(&cfg.GitRef, "dags-git-ref", cfg.GitRef, "branch or tag of --dags-git to load (default: the remote's HEAD) (env "+EnvGitRef+")")
	fs.StringVar(&cfg.GitPath, "dags-git-path", cfg.GitPath, "folder of --dags-git holding the DAG files (default: the root) (env "+EnvGitPath+")")
	RegisterDAGsEnvAllow(fs, cfg)
}

// gitCredentialsFromEnv reads the git source's credentials. The token and
// key have no flag: flags show up in process listings.
func gitCredentialsFromEnv(getenv func(string) string) (gitauth.Credentials, error) {
	c := gitauth.Credentials{
		Token:      getenv(EnvGitToken),
		TokenHosts: splitList(getenv("GITHUB_TOKEN_HOSTS")),
		SSHKeyPath: getenv(EnvGitSSHKey),
		// Read here rather than by the SSH library, so the host key is
		// checked against the environment the command was given.
		SSHKnownHosts: filepath.SplitList(getenv(EnvSSHKnownHosts)),
	}
	if c.Token == "" {
		c.Token = getenv("GITHUB_TOKEN")
	}
	if c.SSHKeyPath == "" {
		c.SSHKeyPath = getenv("SLUICE_SSH_KEY")
	}
	if v := getenv("SLUICE_GITHUB_HTTP_LOOPBACK"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("SLUICE_GITHUB_HTTP_LOOPBACK=%q: want true or false", v)
		}
		c.AllowHTTPLoopback = b
	}
	return c, nil
}

// DAGsEnvAllowFromEnv is the Starlark allow-list of SLUICE_DAGS_ENV_ALLOW.
func DAGsEnvAllowFromEnv(getenv func(string) string) []string {
	return splitList(getenv(EnvDAGsEnvAllow))
}

// RegisterDAGsEnvAllow adds --dags-env-allow alone, for commands that
// parse DAG files without loading them (validate).
func RegisterDAGsEnvAllow(fs *flag.FlagSet, cfg *loader.Config) {
	fs.Var(listValue{&cfg.EnvAllow}, "dags-env-allow", "comma-separated variables, beyond SLUICE_DAG_*, that env() in Starlark DAG files may read; others read as unset (env "+EnvDAGsEnvAllow+")")
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
