package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/storeopen"
)

func init() {
	register(command{name: "trigger", summary: "queue a run of a DAG (an engine on the same state dir runs it)", run: runTrigger})
}

const triggerUsage = `Usage: sluice trigger DAG [--config JSON] [--wait] [flags]

Queues a run of DAG in the state dir's store. An engine running on the same
state dir ('sluice run' or the console) picks it up within a second; with
none running, the run waits for the next one to start. A run of a DAG the
engine does not know (or has disabled) fails with that reason.

--config is the run config, a JSON object handed to every task (the file
named by SLUICE_RUN_CONFIG). --wait waits for the run to finish and exits 0
when it succeeded, 1 when it failed or was cancelled.

A DAG the store has never seen (no version, run or pause of it) must be in
the DAG sources (--dags-dir, and S3 or git as DAGS_S3_BUCKET or DAGS_GIT_URL
say): a name found nowhere is refused with exit status 2.
`

// pollEvery is how often --wait and the waiting hint look at the store.
const pollEvery = 200 * time.Millisecond

func runTrigger(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	cfgText := fs.String("config", "", "run config, a JSON object")
	wait := fs.Bool("wait", false, "wait for the run to finish; exit 1 unless it succeeded")
	priority := fs.Int("priority", 0, "queue priority (higher first; 0 takes the DAG's)")
	asJSON := fs.Bool("json", false, "print the run as JSON")
	var lookup dagLookup
	lookup.addDAGsDirFlag(fs, env)
	setUsage(fs, env.stderr, triggerUsage)
	if code, ok := parseCommandFlags(fs, env, args, 1, nil); !ok {
		return code
	}
	name := fs.Arg(0)
	if name == "" {
		fmt.Fprintln(env.stderr, "sluice trigger: name the DAG to run")
		seeHelp(env.stderr, fs)
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	var cfg json.RawMessage
	if *cfgText != "" {
		cfg = json.RawMessage(*cfgText)
	}
	if engine.CheckRunConfig(cfg) != nil {
		fmt.Fprintln(env.stderr, "sluice trigger: --config must be a JSON object")
		return exitUsage
	}
	if !lookup.check(ctx, env, eng, fs.Name(), name) {
		return exitUsage
	}
	run, err := eng.QueueRun(ctx, name, cfg, *priority)
	switch {
	case errors.Is(err, api.ErrInvalidConfig):
		fmt.Fprintln(env.stderr, "sluice trigger: --config must be a JSON object")
		return exitUsage
	case err != nil && eng.Store() == nil:
		fmt.Fprintf(env.stderr, "sluice trigger: %v\n", err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(env.stderr, "sluice trigger: %v\n", err)
		return exitFailed
	}
	id := run.ID
	pid, held, _ := store.LockHolder(stateDir)
	if storeopen.Shared(storeURL) {
		// Several instances share the database: any of them picks it up.
		held, pid = true, 0
	}
	if *asJSON && !*wait {
		return printJSON(env, runRowOf(run))
	}
	if !*asJSON {
		fmt.Fprintf(env.stdout, "queued run %d of %s\n", id, name)
	}
	if held {
		if !*asJSON {
			if pid != 0 {
				fmt.Fprintf(env.stderr, "the engine (pid %d) picks it up within a second\n", pid)
			} else {
				fmt.Fprintln(env.stderr, "an instance sharing the store picks it up")
			}
		}
	} else {
		fmt.Fprintf(env.stderr, "no engine is running on %s: the run starts when `sluice run` (or the console) does\n",
			filepath.Clean(stateDir))
	}
	if !*wait {
		return exitOK
	}
	run, err = waitForRun(ctx, eng.Store(), id)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(env.stderr, "stopped waiting; run %d goes on\n", id)
			return exitFailed
		}
		fmt.Fprintf(env.stderr, "sluice trigger: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		printJSON(env, runRowOf(run))
	} else {
		fmt.Fprintf(env.stdout, "run %d %s", id, run.State)
		if run.Error != "" {
			fmt.Fprintf(env.stdout, ": %s", run.Error)
		}
		if !run.StartedAt.IsZero() {
			fmt.Fprintf(env.stdout, " (%s)", run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond))
		}
		fmt.Fprintln(env.stdout)
	}
	if run.State != api.RunSuccess {
		return exitFailed
	}
	return exitOK
}

// waitForRun polls the store until a run is finished.
func waitForRun(ctx context.Context, st store.Interface, id int64) (store.Run, error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		run, err := st.Run(ctx, id)
		if err != nil {
			return run, err
		}
		if run.Finished() {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-tick.C:
		}
	}
}
