package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/demoenv"
	"github.com/sluice-dev/sluice/engine"
)

func init() {
	register(command{name: "demo", summary: "open the console on an embedded demo platform (what `make demo` runs)", run: runDemo})
}

const demoUsage = `Usage: sluice demo [flags]

Opens the console on an embedded platform, so everything moves within
seconds on a fresh machine with nothing else installed:

  - the local DAG source is the repository's dags/ folder (--dags-dir),
    including dags/demo/: DAGs every 10 seconds made of sluice.sleep tasks,
    one that fails twice then succeeds on a retry, one that always fails,
    and a fan-out;
  - the S3 DAG source is an in-process S3 server (gofakes3) on a loopback
    port, seeded with more DAGs (one of them invalid); the engine reaches it
    through the real AWS SDK client. Every --churn the demo edits one S3
    object, breaking and mending it in turn, so the tree shows an invalid
    file whose last good version stays active, and a rescan (r) reports it;
  - the engine's state (SQLite, task logs) goes to a temporary directory
    removed on exit, unless --state-dir names one to keep.

Then it is the console: see 'sluice console --help' for the keys.
`

func runDemo(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dagsDir := fs.String("dags-dir", "dags", "local DAG folder (the repository's examples)")
	stateDir := fs.String("state-dir", "", "keep the engine's state here (default: a temporary directory, removed on exit)")
	churn := fs.Duration("churn", 30*time.Second, "how often the demo edits an S3 DAG object (0: never)")
	scan := fs.Duration("scan-interval", 10*time.Second, "periodic rescan of both sources")
	noColor := fs.Bool("no-color", false, "render without colour (also NO_COLOR=1)")
	fs.Usage = func() {
		fmt.Fprint(env.stderr, demoUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommandFlags(fs, env, args, 0, nil); !ok {
		return code
	}
	demo, err := demoenv.Start(ctx, demoenv.Options{
		DAGsDir:      *dagsDir,
		StateDir:     *stateDir,
		ScanInterval: *scan,
		ChurnEvery:   *churn,
	})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice demo: %v\n", err)
		return exitUsage
	}
	defer demo.Close()
	// A temporary state dir goes away on exit; the log outlives it.
	logPath := filepath.Join(os.TempDir(), "sluice-demo.log")
	if *stateDir != "" {
		logPath = filepath.Join(*stateDir, "console.log")
	}
	return openConsole(ctx, env, consoleRun{
		name:    "demo",
		logPath: logPath,
		noColor: *noColor,
		started: demo.EngineStarted,
		newEngine: func(log *slog.Logger) (consoleEngine, error) {
			return engine.New(demo.EngineConfig(log))
		},
	})
}
