package flags

import (
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/loader"
)

func TestLoaderFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    loader.Config
		wantErr string
	}{
		{name: "defaults", want: loader.Config{Dir: "./dags", ScanInterval: 30 * time.Second, Enabled: true}},
		{name: "env", env: map[string]string{
			"DAGS_DIR": "/srv/dags", "DAGS_SCAN_INTERVAL": "5", "DAGS_ENABLED": "false",
			"DAGS_S3_BUCKET": "b", "DAGS_S3_PREFIX": "p/", "AWS_ENDPOINT_URL_S3": "http://minio:9000",
		}, want: loader.Config{Dir: "/srv/dags", ScanInterval: 5 * time.Second, Enabled: false,
			S3Bucket: "b", S3Prefix: "p/", S3Endpoint: "http://minio:9000"}},
		{name: "interval as a duration", env: map[string]string{"DAGS_SCAN_INTERVAL": "1m30s"},
			want: loader.Config{Dir: "./dags", ScanInterval: 90 * time.Second, Enabled: true}},
		{name: "path style from env", env: map[string]string{"DAGS_S3_PATH_STYLE": "false"},
			want: loader.Config{Dir: "./dags", ScanInterval: 30 * time.Second, Enabled: true, S3PathStyle: &no}},
		{name: "flags win", env: map[string]string{"DAGS_DIR": "/env", "DAGS_SCAN_INTERVAL": "5", "DAGS_S3_BUCKET": "envb"},
			args: []string{"--dags-dir", "/flag", "--scan-interval", "2s", "--s3-bucket", "flagb", "--s3-path-style", "--dags-enabled=false"},
			want: loader.Config{Dir: "/flag", ScanInterval: 2 * time.Second, Enabled: false, S3Bucket: "flagb", S3PathStyle: &yes}},
		{name: "empty dir flag disables the local source", args: []string{"--dags-dir="},
			want: loader.Config{Dir: "", ScanInterval: 30 * time.Second, Enabled: true}},
		{name: "bad interval", env: map[string]string{"DAGS_SCAN_INTERVAL": "soon"}, wantErr: "DAGS_SCAN_INTERVAL"},
		{name: "zero interval", env: map[string]string{"DAGS_SCAN_INTERVAL": "0"}, wantErr: "positive"},
		{name: "bad bool", env: map[string]string{"DAGS_ENABLED": "maybe"}, wantErr: "DAGS_ENABLED"},
		{name: "bad interval flag", args: []string{"--scan-interval", "-3"}, wantErr: "positive"},
		{name: "bad request timeout", env: map[string]string{"DAGS_S3_REQUEST_TIMEOUT": "0s"}, wantErr: "DAGS_S3_REQUEST_TIMEOUT"},
		{name: "bad scan timeout flag", args: []string{"--scan-timeout", "soon"}, wantErr: "positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoaderFromEnv(func(k string) string { return tc.env[k] })
			if err == nil {
				fs := flag.NewFlagSet("test", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				RegisterLoader(fs, &cfg)
				err = fs.Parse(tc.args)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Env == nil {
				t.Error("Env not set")
			}
			if cfg.Dir != tc.want.Dir || cfg.ScanInterval != tc.want.ScanInterval || cfg.Enabled != tc.want.Enabled ||
				cfg.S3Bucket != tc.want.S3Bucket || cfg.S3Prefix != tc.want.S3Prefix || cfg.S3Endpoint != tc.want.S3Endpoint ||
				(cfg.S3PathStyle == nil) != (tc.want.S3PathStyle == nil) ||
				(cfg.S3PathStyle != nil && *cfg.S3PathStyle != *tc.want.S3PathStyle) {
				t.Errorf("config = %+v (path style %v), want %+v", cfg, cfg.S3PathStyle, tc.want)
			}
		})
	}
}

// The loader's timeouts and the Starlark allow-list: defaults, the
// environment, and flags over the environment.
func TestLoaderTimeoutsAndEnvAllow(t *testing.T) {
	t.Parallel()
	cfg, err := LoaderFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3RequestTimeout != loader.DefaultS3RequestTimeout || cfg.ScanTimeout != loader.DefaultScanTimeout || cfg.EnvAllow != nil {
		t.Errorf("defaults: request %v scan %v allow %q", cfg.S3RequestTimeout, cfg.ScanTimeout, cfg.EnvAllow)
	}
	env := map[string]string{"DAGS_S3_REQUEST_TIMEOUT": "3s", "DAGS_SCAN_TIMEOUT": "1m", "SLUICE_DAGS_ENV_ALLOW": "TEAM, REGION,", "TEAM": "data"}
	cfg, err = LoaderFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3RequestTimeout != 3*time.Second || cfg.ScanTimeout != time.Minute || strings.Join(cfg.EnvAllow, "|") != "TEAM|REGION" {
		t.Errorf("from env: request %v scan %v allow %q", cfg.S3RequestTimeout, cfg.ScanTimeout, cfg.EnvAllow)
	}
	if v, ok := cfg.Env("TEAM"); v != "data" || !ok {
		t.Errorf("Env(TEAM) = %q, %v", v, ok)
	}
	if _, ok := cfg.Env("REGION"); ok {
		t.Error("an unset variable reads as set")
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterLoader(fs, &cfg)
	if err := fs.Parse([]string{"--s3-request-timeout", "500ms", "--scan-timeout=30s", "--dags-env-allow", "OWNER"}); err != nil {
		t.Fatal(err)
	}
	if cfg.S3RequestTimeout != 500*time.Millisecond || cfg.ScanTimeout != 30*time.Second || strings.Join(cfg.EnvAllow, "|") != "OWNER" {
		t.Errorf("flags: request %v scan %v allow %q", cfg.S3RequestTimeout, cfg.ScanTimeout, cfg.EnvAllow)
	}
	for _, name := range []string{"s3-request-timeout", "scan-timeout", "dags-env-allow"} {
		if f := fs.Lookup(name); f == nil || !strings.Contains(f.Usage, "(env ") {
			t.Errorf("--%s missing or names no variable", name)
		}
	}
}

func FuzzParseInterval(f *testing.F) {
	for _, seed := range []string{"30", "1m30s", "0", "-5", "soon", "9223372036854775807", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseInterval(s)
		if err == nil && d <= 0 {
			t.Errorf("ParseInterval(%q) = %v without error", s, d)
		}
	})
}

// The git source: URL, ref and folder from the environment and flags; the
// credentials from the environment only, DAGS_GIT_TOKEN over GITHUB_TOKEN.
func TestLoaderGitSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		env                 map[string]string
		args                []string
		url, ref, path, tok string
		forURL, loopback    bool
		key                 string
		knownHosts          []string
		wantErr             string
	}{
		{name: "none"},
		{name: "env", env: map[string]string{"DAGS_GIT_URL": "https://git.example.com/dags.git", "DAGS_GIT_REF": "prod", "DAGS_GIT_PATH": "dags",
			"DAGS_GIT_TOKEN": "t1", "GITHUB_TOKEN": "gh", "DAGS_GIT_SSH_KEY": "/k1", "SLUICE_SSH_KEY": "/k2", "SLUICE_GITHUB_HTTP_LOOPBACK": "true",
			"SSH_KNOWN_HOSTS": "/kh1" + string(filepath.ListSeparator) + "/kh2"},
			url: "https://git.example.com/dags.git", ref: "prod", path: "dags", tok: "t1", forURL: true, loopback: true, key: "/k1",
			knownHosts: []string{"/kh1", "/kh2"}},
		{name: "GitHub token fallback is not for the URL's host", env: map[string]string{"DAGS_GIT_URL": "u", "GITHUB_TOKEN": "gh", "SLUICE_SSH_KEY": "/k2"},
			url: "u", tok: "gh", key: "/k2"},
		{name: "flags win", env: map[string]string{"DAGS_GIT_URL": "env", "DAGS_GIT_REF": "envref"},
			args: []string{"--dags-git", "flag", "--dags-git-ref", "v1", "--dags-git-path", "a/b"}, url: "flag", ref: "v1", path: "a/b"},
		{name: "bad loopback", env: map[string]string{"SLUICE_GITHUB_HTTP_LOOPBACK": "perhaps"}, wantErr: "SLUICE_GITHUB_HTTP_LOOPBACK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := LoaderFromEnv(func(k string) string { return tc.env[k] })
			if err == nil {
				fs := flag.NewFlagSet("test", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				RegisterLoader(fs, &cfg)
				err = fs.Parse(tc.args)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := cfg.GitCredentials
			if cfg.GitURL != tc.url || cfg.GitRef != tc.ref || cfg.GitPath != tc.path || c.Token != tc.tok ||
				cfg.GitTokenForURL != tc.forURL || c.AllowHTTPLoopback != tc.loopback || c.SSHKeyPath != tc.key ||
				!slices.Equal(c.SSHKnownHosts, tc.knownHosts) {
				t.Errorf("git settings = %q %q %q token %q forURL %v loopback %v key %q known hosts %q", cfg.GitURL, cfg.GitRef, cfg.GitPath,
					c.Token, cfg.GitTokenForURL, c.AllowHTTPLoopback, c.SSHKeyPath, c.SSHKnownHosts)
			}
		})
	}
}
