package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// --keep-versions reaches the engine's Config from the flag, the
// environment or the config file (keep_versions), in that order, and the
// engine settings' durations read the variables their usage names.
func TestKeepVersionsFromFlagEnvAndFile(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "keep_versions: 5\n")
	cases := []struct {
		name string
		vars map[string]string
		args []string
		want int
	}{
		{"default", nil, nil, api.DefaultKeepVersions},
		{"file", map[string]string{"SLUICE_CONFIG": file}, nil, 5},
		{"env over file", map[string]string{"SLUICE_CONFIG": file, "SLUICE_KEEP_VERSIONS": "7"}, nil, 7},
		{"flag over env", map[string]string{"SLUICE_KEEP_VERSIONS": "7"}, []string{"--keep-versions", "3"}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := &cliEnv{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader(""), getenv: func(k string) string { return c.vars[k] }}
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			settings, _, cfgPath, err := addRunCommandFlags(fs, env)
			if err != nil {
				t.Fatal(err)
			}
			if code, ok := parseEngineFlags("run", runUsage, fs, env, c.args, cfgPath, nil); !ok {
				t.Fatalf("parse: exit %d", code)
			}
			cfg, err := settings.config(slog.New(slog.DiscardHandler))
			if err != nil || cfg.KeepVersions != c.want {
				t.Errorf("KeepVersions = %d (%v), want %d", cfg.KeepVersions, err, c.want)
			}
		})
	}

	vars := map[string]string{"SLUICE_LEASE": "1m", "SLUICE_POLL_INTERVAL": "2s", "SLUICE_MISSING_DAG_GRACE": "9m"}
	env := &cliEnv{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
	settings, err := addRunFlags(flag.NewFlagSet("run", flag.ContinueOnError), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := settings.config(slog.New(slog.DiscardHandler)); err != nil || cfg.Lease.String() != "1m0s" || cfg.PollInterval.String() != "2s" || cfg.MissingDAGGrace.String() != "9m0s" {
		t.Errorf("the durations ignore their variables: %v %v %v (%v)", cfg.Lease, cfg.PollInterval, cfg.MissingDAGGrace, err)
	}

	code, _, errOut := runCmd(context.Background(), map[string]string{"SLUICE_STATE_DIR": t.TempDir()}, "run", "--keep-versions", "0")
	if code != exitUsage || !strings.Contains(errOut, "--keep-versions") {
		t.Errorf("--keep-versions 0: exit %d %q; want a usage error", code, errOut)
	}
}

// A --reprocess value backfill does not know is a usage error naming the
// accepted values, refused before anything is opened.
func TestBackfillBadReprocessIsUsageError(t *testing.T) {
	t.Parallel()
	vars, _ := operateSetup(t)
	code, out, errOut := runCmd(context.Background(), vars, "backfill", "known", "--from", "1h", "--reprocess", "bogus")
	if code != exitUsage || !strings.Contains(errOut, "failed, all or none") {
		t.Errorf("exit %d %q %q; want 2 and the accepted values", code, out, errOut)
	}
}
