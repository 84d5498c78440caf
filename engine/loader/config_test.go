package loader

import (
	"path"
	"strings"
	"testing"
)

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
