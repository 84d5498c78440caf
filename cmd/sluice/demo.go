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
seconds on a fresh machine with nothing else installed. Every piece below
runs in this process on a loopback port and is reached through the same
client a real deployment uses; all of it stops when the console quits.

  - DAGs, local: a copy of the repository's dags/ folder (--dags-dir) in
    STATE_DIR/dags, so edits made in the demo never touch the repository
    (the path is printed at start). It includes
    dags/demo/: DAGs every 10 seconds made of sluice.sleep tasks, one that
    fails twice then succeeds on a retry, one that always fails, and a
    fan-out. demo/heartbeat, demo/fanout and demo/flaky are queued at start,
    so the run queue moves before the first schedule fires.
  - DAGs, S3: an in-process S3 server (gofakes3), bucket sluice-demo under
    dags/, seeded with more DAGs (ml/, reports/, one of them invalid) and
    read through the real AWS SDK client. Every --churn the demo edits one
    object, breaking and mending it in turn, so the tree shows an invalid
    file whose last good version stays active; both sources are rescanned
    every --scan-interval, and r rescans at once.
  - Kafka: an embedded broker (kfake) with a producer writing about 300
    messages a second to the topic events; the sensor DAG
    dags/demo/kafka_events.json consumes it in micro-batches (a tick every
    5 s), and the Kafka pane shows its ticks and the group's lag per
    partition.
  - dbt: a generated dbt project (shop: staging and mart models, with the
    manifest and two weeks of run_results) in a real git repository, with a
    bare origin next to it (STATE_DIR/demo/shop and shop.git). The
    metapipeline runs once at start and reads it.
  - Mode: a stand-in for Mode's API (workspace shop) whose reports query
    the dbt models: some in daily use, one stale, one unused, one archived.
    The metapipeline proposes archiving the stale and unused reports and
    deprecating the models nobody reads, each a review item, the models' on a
    branch staged in the dbt checkout.
  - GitHub: a stand-in for GitHub's pull request API (repository
    sluice-demo/shop). Approving an item (a in the review pane) pushes its
    branch to the bare origin and opens a pull request on the stand-in, or
    archives its reports through the Mode stand-in; x rejects it.
  - State: the engine's state (SQLite, run files, task logs, the dbt
    repository) goes to a temporary directory removed on exit, unless
    --state-dir names one to keep (a kept dbt repository and DAG folder
    are reused). Each demo logs to its own file, $TMPDIR/sluice-demo-*.log,
    or STATE_DIR/console.log with --state-dir; both paths are printed.
    Tasks get TMPDIR=STATE_DIR/tmp, so their scratch files (daily_etl's
    orders) stay inside the demo's state.

The demo's Mode and GitHub credentials are fixed dummies; nothing leaves
the machine. Then it is the console: see 'sluice console --help' for the
keys.
`

func runDemo(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	dagsDir := fs.String("dags-dir", "dags", "local DAG folder (the repository's examples)")
	stateDir := fs.String("state-dir", "", "keep the engine's state here (default: a temporary directory, removed on exit)")
	churn := fs.Duration("churn", 30*time.Second, "how often the demo edits an S3 DAG object (0: never)")
	scan := fs.Duration("scan-interval", 10*time.Second, "periodic rescan of both sources")
	noColor := fs.Bool("no-color", false, "render without colour (also NO_COLOR=1)")
	setUsage(fs, env.stderr, demoUsage)
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
	// Tasks write scratch files under $TMPDIR (daily_etl's orders.csv):
	// the demo's go to its state dir, and leave with it.
	tmp := filepath.Join(demo.StateDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		fmt.Fprintf(env.stderr, "sluice demo: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(env.stderr, "sluice demo: DAGs in %s (a copy of %s), task scratch files in %s, log in %s\n", demo.DAGsDir, *dagsDir, tmp, demo.LogPath)
	defer fmt.Fprintf(env.stderr, "sluice demo: log in %s\n", demo.LogPath)
	return openConsole(ctx, env, consoleRun{
		name:    "demo",
		logPath: demo.LogPath,
		noColor: *noColor,
		started: demo.EngineStarted,
		newEngine: func(log *slog.Logger) (consoleEngine, error) {
			cfg := demo.EngineConfig(log)
			cfg.TaskEnv = append(cfg.TaskEnv, "TMPDIR="+tmp)
			return engine.Open(ctx, engine.Options{Config: cfg})
		},
	})
}
