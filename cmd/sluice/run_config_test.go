package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestRunReadsConfigFileAndServesMetrics: `sluice run` takes its DAG folder
// and its --metrics address from the config file (the latter from run's own
// section), and the metrics count a run it ran.
func TestRunReadsConfigFileAndServesMetrics(t *testing.T) {
	t.Parallel()
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "from_file", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	cfg := filepath.Join(dir, "sluice.yaml")
	body := fmt.Sprintf("dags-dir: %s\nrun:\n  metrics: 127.0.0.1:0\n", dags)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"SLUICE_STATE_DIR": state, "SLUICE_CONFIG": cfg}
	stderr, stop := startInProcessEngine(t, vars, "--kill-grace", "1s")
	var addr string
	enginetest.Eventually(t, 20*time.Second, func() bool {
		addr = logAddr(stderr.String(), "serving metrics")
		return addr != ""
	}, "run to serve metrics")
	code, out, errOut := runCmd(context.Background(), vars, "trigger", "from_file")
	if code != exitOK {
		t.Fatalf("trigger: %d %q %q", code, out, errOut)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(scrape(t, addr), `sluice_runs_finished_total{dag="from_file",state="success"} 1`)
	}, "the metrics to count the run")
	if code := stop(); code != exitOK {
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
}

// TestRunRefusesBadConfigFile: a setting run does not have, even in run's
// own section, stops it before the engine starts.
func TestRunRefusesBadConfigFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		code       int
		want       string
	}{
		{"serve-only key in run's section", "run:\n  ssh: 127.0.0.1:0\n", exitFailed, "ssh"},
		{"bad value", "run:\n  max-concurrent-runs: lots\n", exitFailed, "max-concurrent-runs"},
		{"unreadable file", "", exitUsage, "missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "missing.yaml")
			if tt.body != "" {
				cfg = filepath.Join(dir, "sluice.yaml")
				if err := os.WriteFile(cfg, []byte(tt.body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			vars := map[string]string{"SLUICE_STATE_DIR": filepath.Join(dir, "state"), "DAGS_DIR": dir}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, _, errOut := runCmd(ctx, vars, "run", "--config", cfg)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.code, errOut, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "state", "sluice.db")); err == nil {
				t.Error("the engine started despite the bad file")
			}
		})
	}
}
