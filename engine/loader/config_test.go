package loader

import (
	"flag"
	"io"
	"path"
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    Config
		wantErr string
	}{
		{name: "defaults", want: Config{Dir: "./dags", ScanInterval: 30 * time.Second, Enabled: true}},
		{name: "env", env: map[string]string{
			"DAGS_DIR": "/srv/dags", "DAGS_SCAN_INTERVAL": "5", "DAGS_ENABLED": "false",
			"DAGS_S3_BUCKET": "b", "DAGS_S3_PREFIX": "p/", "AWS_ENDPOINT_URL_S3": "http://minio:9000",
		}, want: Config{Dir: "/srv/dags", ScanInterval: 5 * time.Second, Enabled: false,
			S3Bucket: "b", S3Prefix: "p/", S3Endpoint: "http://minio:9000"}},
		{name: "interval as a duration", env: map[string]string{"DAGS_SCAN_INTERVAL": "1m30s"},
			want: Config{Dir: "./dags", ScanInterval: 90 * time.Second, Enabled: true}},
		{name: "path style from env", env: map[string]string{"DAGS_S3_PATH_STYLE": "false"},
			want: Config{Dir: "./dags", ScanInterval: 30 * time.Second, Enabled: true, S3PathStyle: &no}},
		{name: "flags win", env: map[string]string{"DAGS_DIR": "/env", "DAGS_SCAN_INTERVAL": "5", "DAGS_S3_BUCKET": "envb"},
			args: []string{"--dags-dir", "/flag", "--scan-interval", "2s", "--s3-bucket", "flagb", "--s3-path-style", "--dags-enabled=false"},
			want: Config{Dir: "/flag", ScanInterval: 2 * time.Second, Enabled: false, S3Bucket: "flagb", S3PathStyle: &yes}},
		{name: "empty dir flag disables the local source", args: []string{"--dags-dir="},
			want: Config{Dir: "", ScanInterval: 30 * time.Second, Enabled: true}},
		{name: "bad interval", env: map[string]string{"DAGS_SCAN_INTERVAL": "soon"}, wantErr: "DAGS_SCAN_INTERVAL"},
		{name: "zero interval", env: map[string]string{"DAGS_SCAN_INTERVAL": "0"}, wantErr: "positive"},
		{name: "bad bool", env: map[string]string{"DAGS_ENABLED": "maybe"}, wantErr: "DAGS_ENABLED"},
		{name: "bad interval flag", args: []string{"--scan-interval", "-3"}, wantErr: "positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if err == nil {
				fs := flag.NewFlagSet("test", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				RegisterFlags(fs, &cfg)
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

func TestPathStyleDefault(t *testing.T) {
	t.Parallel()
	no := false
	for _, tc := range []struct {
		cfg  Config
		want bool
	}{
		{Config{}, false},
		{Config{S3Endpoint: "http://minio:9000"}, true},
		{Config{S3Endpoint: "http://minio:9000", S3PathStyle: &no}, false},
	} {
		if got := tc.cfg.pathStyle(); got != tc.want {
			t.Errorf("pathStyle(%+v) = %v", tc.cfg, got)
		}
	}
}

func TestKeyRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key       string
		safe, dag bool
	}{
		{"etl.json", true, true},
		{"prod/etl.star", true, true},
		{"prod/etl.yaml", true, false},
		{"../etl.json", false, false},
		{"a/../etl.json", false, false},
		{"/etl.json", false, false},
		{"a//etl.json", false, false},
		{"./etl.json", false, false},
		{`a\..\etl.json`, false, true},
		{".hidden/etl.json", true, false},
		{"a/.#etl.json", true, false},
		{"a/#etl.json#", true, false},
		{"etl.json~", true, false},
		{"a/etl.json.swp", true, false},
	} {
		if got := safeKey(tc.key); got != tc.safe {
			t.Errorf("safeKey(%q) = %v", tc.key, got)
		}
		if got := isDAGKey(tc.key); got != tc.dag {
			t.Errorf("isDAGKey(%q) = %v", tc.key, got)
		}
	}
}

// FuzzSafeKey: a key safeKey accepts never leaves the root it is joined to.
func FuzzSafeKey(f *testing.F) {
	for _, seed := range []string{"a.json", "../a.json", "a/../../b.json", "/abs.json", "a//b.json", "a/./b", "..", "...json"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !safeKey(key) {
			return
		}
		joined := path.Join("/root", key)
		if !strings.HasPrefix(joined, "/root/") || joined == "/root/" {
			t.Errorf("safe key %q escapes: %q", key, joined)
		}
		if path.Join("/root", key) != "/root/"+key {
			t.Errorf("safe key %q is not clean", key)
		}
	})
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
