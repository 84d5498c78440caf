package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestDagsListHungS3GivesUp: `dags list` against an endpoint that accepts
// and never answers returns within the timeout it was given — the SDK's
// retries included — and says where it waited, for what, how long, and
// how to change it. Goes through the real SDK with its standard retries
// and the process environment's credentials: not parallel.
func TestDagsListHungS3GivesUp(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	const limit = time.Second
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{
			name: "request timeout flag",
			args: []string{"--s3-request-timeout", limit.String()},
			want: []string{"within the S3 request timeout (1s, retries included)",
				"each S3 request, retries included, is given 1s: change it with --s3-request-timeout or DAGS_S3_REQUEST_TIMEOUT"},
		},
		{
			name: "scan timeout env",
			env:  map[string]string{"DAGS_SCAN_TIMEOUT": limit.String()},
			want: []string{"within the scan deadline (1s)",
				"each source's scan is given 1s: change it with --scan-timeout or DAGS_SCAN_TIMEOUT"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			endpoint, _ := enginetest.HungEndpoint(t)
			env := map[string]string{"DAGS_S3_BUCKET": "dags", "DAGS_S3_PREFIX": "team", "AWS_ENDPOINT_URL_S3": endpoint}
			for k, v := range tc.env {
				env[k] = v
			}
			start := time.Now()
			code, out, errOut := dagsRun(t, env, append([]string{"dags", "list", "--dags-dir="}, tc.args...)...)
			took := time.Since(start)
			// The SDK's three attempts would take three times the limit,
			// plus backoff.
			if took < limit || took >= 2*limit {
				t.Errorf("dags list took %s, want within [%s, %s)", took, limit, 2*limit)
			}
			if code != exitUsage || out != "no DAGs\n" {
				t.Errorf("code %d stdout %q, want %d and no DAGs", code, out, exitUsage)
			}
			for _, want := range append(tc.want, "s3://dags/team/", "no answer from "+endpoint, "gave up after ") {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr does not say %q:\n%s", want, errOut)
				}
			}
			t.Logf("stderr:\n%s", errOut)
		})
	}
}
