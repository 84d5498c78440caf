package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/store"
)

// The operator's actions from the command line. Each is the engine API's
// method on an engine opened offline on the state dir: the engine running
// there (if any) picks the change up, and the audit log records the OS user.

func init() {
	register(command{name: "runs rerun", summary: "queue a new run of a finished run (--from-failed: only what failed and downstream)", run: runRunsRerun})
	register(command{name: "runs mark", summary: "mark a finished run, or one of its tasks, success or failed, with a reason", run: runRunsMark})
	register(command{name: "dags pause", summary: "pause a DAG: its schedules and sensors stop firing (manual triggers still run)", run: runDagsPause})
	register(command{name: "dags unpause", summary: "unpause a DAG", run: runDagsUnpause})
	register(command{name: "audit", summary: "list the audit log of operator actions, newest first", run: runAudit})
}

const rerunUsage = `Usage: sluice runs rerun RUN_ID [--from-failed] [--reason TEXT] [flags]

Queues a new run of a finished run: the same DAG and run config (and, for a
sensor run, the same stored batch: nothing is read from Kafka again),
linked to it (rerun_of). With --from-failed the new run skips the tasks
that succeeded in the original (shown as "skipped (succeeded in #N)") and
runs the failed ones and everything downstream of them. When a re-run of
RUN_ID is already queued or running, nothing new is queued: the command
names that run and exits 0.
`

// actionFailed prints an action's error, escaped (it may quote names and
// files), with the exit code it earns: a usage error when the state dir or
// the target does not exist.
func actionFailed(env *cliEnv, name string, err error) int {
	fmt.Fprintf(env.stderr, "sluice %s: %s\n", name, text.Line(err.Error()))
	if errors.Is(err, engine.ErrNoState) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrVersionNotFound) || errors.Is(err, store.ErrNoTask) {
		return exitUsage
	}
	return exitFailed
}

func parseRunID(env *cliEnv, fs *flag.FlagSet, s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(env.stderr, "sluice %s: %q is not a run id\n", fs.Name(), s)
		seeHelp(env.stderr, fs)
		return 0, false
	}
	return id, true
}

func runRunsRerun(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("runs rerun", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	fromFailed := fs.Bool("from-failed", false, "skip the tasks that succeeded in the original run")
	reason := fs.String("reason", "", "why, for the audit log")
	asJSON := fs.Bool("json", false, "print the new run as JSON")
	setUsage(fs, env.stderr, rerunUsage)
	if code, ok := parseCommandFlags(fs, env, args, 1, nil); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.stderr, "sluice runs rerun: name the run to re-run")
		seeHelp(env.stderr, fs)
		return exitUsage
	}
	id, ok := parseRunID(env, fs, fs.Arg(0))
	if !ok {
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	newID, err := eng.Rerun(ctx, id, api.RerunOptions{FromFailed: *fromFailed, Reason: *reason})
	pending := errors.Is(err, api.ErrRerunPending)
	if err != nil && !pending {
		return actionFailed(env, fs.Name(), err)
	}
	if *asJSON {
		run, err := eng.Store().Run(ctx, newID)
		if err != nil {
			return actionFailed(env, fs.Name(), err)
		}
		return printJSON(env, runRowOf(run))
	}
	if pending {
		// Nothing new was queued: say which run carries the re-run.
		fmt.Fprintf(env.stdout, "run %d already re-runs run %d (%s): nothing new queued\n", newID, id, pendingState(ctx, eng, newID))
		return exitOK
	}
	fmt.Fprintf(env.stdout, "queued run %d, a re-run of run %d\n", newID, id)
	return exitOK
}

// pendingState is the state of the run already carrying a re-run (queued
// or running), or "queued or running" if it cannot be read.
func pendingState(ctx context.Context, eng *engine.Engine, id int64) string {
	if st := eng.Store(); st != nil {
		if r, err := st.Run(ctx, id); err == nil {
			return string(r.State)
		}
	}
	return "queued or running"
}

const markUsage = `Usage: sluice runs mark RUN_ID success|failed --reason TEXT [--task TASK] [flags]

Marks a finished run (or, with --task, one of its tasks) success or failed,
recording who and why. A task marked success is skipped by a later
'sluice runs rerun RUN_ID --from-failed'.
`

func runRunsMark(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("runs mark", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	task := fs.String("task", "", "mark this task of the run instead of the run")
	reason := fs.String("reason", "", "why (required)")
	setUsage(fs, env.stderr, markUsage)
	if code, ok := parseCommandFlags(fs, env, args, 2, nil); !ok {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(env.stderr, "sluice runs mark: name the run and the state (success or failed)")
		seeHelp(env.stderr, fs)
		return exitUsage
	}
	id, ok := parseRunID(env, fs, fs.Arg(0))
	if !ok {
		return exitUsage
	}
	state := api.RunState(fs.Arg(1))
	if state != api.RunSuccess && state != api.RunFailed {
		fmt.Fprintf(env.stderr, "sluice runs mark: state must be success or failed, not %q\n", fs.Arg(1))
		return exitUsage
	}
	if *reason == "" {
		fmt.Fprintln(env.stderr, "sluice runs mark: --reason is required (it goes to the audit log)")
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	changed, err := eng.MarkChanged(ctx, id, *task, state, *reason)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	what := fmt.Sprintf("run %d", id)
	if *task != "" {
		what = fmt.Sprintf("task %s of run %d", text.Line(*task), id)
	}
	if !changed {
		fmt.Fprintf(env.stdout, "%s is already %s: nothing changed\n", what, state)
		return exitOK
	}
	fmt.Fprintf(env.stdout, "marked %s %s\n", what, state)
	return exitOK
}

const pauseUsage = `Usage: sluice dags %s NAME [--reason TEXT] [flags]

Pausing a DAG stops its schedules and its Kafka sensors (their lag is still
shown); manual triggers still run. The pause is kept in the store: it
outlives restarts and edits of the file. An engine running on the state
dir notices within a second. A name neither the store nor the DAG sources
(--dags-dir) know is refused with exit status 2.
`

func runDagsPause(ctx context.Context, env *cliEnv, args []string) int {
	return pauseCommand(ctx, env, args, true)
}

func runDagsUnpause(ctx context.Context, env *cliEnv, args []string) int {
	return pauseCommand(ctx, env, args, false)
}

func pauseCommand(ctx context.Context, env *cliEnv, args []string, paused bool) int {
	verb := "pause"
	if !paused {
		verb = "unpause"
	}
	fs := flag.NewFlagSet("dags "+verb, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	reason := fs.String("reason", "", "why, for the audit log")
	var lookup dagLookup
	lookup.addDAGsDirFlag(fs, env)
	setUsage(fs, env.stderr, fmt.Sprintf(pauseUsage, verb))
	if code, ok := parseCommandFlags(fs, env, args, 1, nil); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(env.stderr, "sluice dags %s: name the DAG\n", verb)
		seeHelp(env.stderr, fs)
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	if !lookup.check(ctx, env, eng, fs.Name(), fs.Arg(0)) {
		return exitUsage
	}
	changed, err := eng.PauseDAGChanged(ctx, fs.Arg(0), paused, *reason)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if !changed {
		fmt.Fprintf(env.stdout, "%s is already %sd: nothing changed\n", text.Line(fs.Arg(0)), verb)
		return exitOK
	}
	fmt.Fprintf(env.stdout, "%sd %s\n", verb, text.Line(fs.Arg(0)))
	return exitOK
}

const auditUsage = `Usage: sluice audit [--json] [--since DURATION|TIME] [--limit N] [flags]

Lists the operator actions recorded in the state dir's store, newest
first: who (the SSH key — comment and fingerprint — in 'sluice serve', the OS user otherwise), when,
what, on what, the outcome and the reason. --since takes a duration
("24h": that long ago) or an RFC 3339 time.
`

func runAudit(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	asJSON := fs.Bool("json", false, "print a JSON array of entries")
	since := fs.String("since", "", "only entries since this long ago (24h) or this time (RFC 3339)")
	limit := fs.Int("limit", 0, "at most this many entries (0: all)")
	setUsage(fs, env.stderr, auditUsage)
	if code, ok := parseCommandFlags(fs, env, args, 0, nil); !ok {
		return code
	}
	q := api.AuditQuery{Limit: max(*limit, 0)}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(env.stderr, "sluice audit: --since: %v\n", err)
			return exitUsage
		}
		q.Since = t
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	// As recorded: --json escapes in its own syntax, the table below with
	// text.Line (targets, outcomes and reasons quote names and errors from
	// outside: one row per entry, nothing a terminal obeys).
	entries, err := eng.AuditRecords(ctx, q)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if *asJSON {
		if entries == nil {
			entries = []api.AuditEntry{}
		}
		for i := range entries {
			entries[i].At = entries[i].At.UTC()
		}
		return printJSON(env, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(env.stdout, "no actions recorded")
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tOUTCOME\tREASON")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), text.Line(e.Actor), text.Line(e.Action),
			text.Line(e.Target), text.Line(e.Outcome), text.Line(e.Reason))
	}
	tw.Flush()
	return exitOK
}

// parseSince reads a duration ago or an RFC 3339 time (api.ParseSince).
func parseSince(s string, now time.Time) (time.Time, error) { return api.ParseSince(s, now) }
