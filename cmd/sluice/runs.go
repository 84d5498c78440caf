package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/store"
)

func init() {
	register(command{name: "runs list", summary: "list runs from the state dir's store, newest first", run: runRunsList})
}

const runsListUsage = `Usage: sluice runs list [--json] [--dag NAME] [--state STATE] [--limit N] [flags]

Lists runs, newest first, straight from the store: it works whether or not
an engine is running. STATE is queued, running, success, failed or
cancelled; repeat --state for several.
`

// runRow is one run in `runs list --json` and `trigger --json`.
type runRow struct {
	ID         int64           `json:"id"`
	DAG        string          `json:"dag"`
	State      api.RunState    `json:"state"`
	Trigger    string          `json:"trigger"`
	Priority   int             `json:"priority"`
	QueuedAt   *time.Time      `json:"queued_at"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	Error      string          `json:"error"`
	Batch      string          `json:"batch,omitempty"`
	RetryOf    int64           `json:"retry_of,omitempty"`
	RerunOf    int64           `json:"rerun_of,omitempty"`
	DAGVersion int             `json:"dag_version,omitempty"`
	Config     json.RawMessage `json:"config,omitempty"`
	// Instance is the instance that claimed the run ("" while queued).
	Instance string `json:"instance"`
	// ScheduledFor is the fire time a scheduled or backfill run answers.
	ScheduledFor *time.Time `json:"scheduled_for,omitempty"`
	Backfill     int64      `json:"backfill,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func runRowOf(r store.Run) runRow {
	return runRow{ID: r.ID, DAG: r.DAG, State: r.State, Trigger: r.Trigger, Priority: r.Priority,
		QueuedAt: timePtr(r.QueuedAt), StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt),
		Error: r.Error, Batch: r.Batch, RetryOf: r.RetryOf, RerunOf: r.RerunOf, DAGVersion: r.DAGVersion, Config: r.Config,
		Instance: r.Instance, ScheduledFor: timePtr(r.ScheduledFor), Backfill: r.BackfillID}
}

type statesFlag []api.RunState

func (f *statesFlag) String() string {
	words := make([]string, len(*f))
	for i, s := range *f {
		words[i] = string(s)
	}
	return strings.Join(words, ",")
}

func (f *statesFlag) Set(s string) error {
	switch st := api.RunState(s); st {
	case api.RunQueued, api.RunRunning, api.RunSuccess, api.RunFailed, api.RunCancelled:
		*f = append(*f, st)
		return nil
	}
	return fmt.Errorf("unknown state %q (queued, running, success, failed, cancelled)", s)
}

func runRunsList(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("runs list", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir string
	var storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	asJSON := fs.Bool("json", false, "print a JSON array of runs")
	dagName := fs.String("dag", "", "only runs of this DAG")
	var states statesFlag
	fs.Var(&states, "state", "only runs in this state (repeatable)")
	limit := fs.Int("limit", 50, "at most this many runs (0: all)")
	setUsage(fs, env.stderr, runsListUsage)
	if code, ok := parseCommandFlags(fs, env, args, 0, nil); !ok {
		return code
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	runs, err := eng.ListRuns(ctx, store.ListOptions{DAG: *dagName, States: states, Limit: max(*limit, 0)})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice runs list: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		rows := make([]runRow, len(runs))
		for i, r := range runs {
			rows[i] = runRowOf(r)
		}
		return printJSON(env, rows)
	}
	if len(runs) == 0 {
		fmt.Fprintln(env.stdout, "no runs")
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDAG\tSTATE\tTRIGGER\tQUEUED\tDURATION\tERROR")
	for _, r := range runs {
		dur := ""
		switch {
		case !r.FinishedAt.IsZero() && !r.StartedAt.IsZero():
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		case !r.StartedAt.IsZero():
			dur = time.Since(r.StartedAt).Round(time.Second).String() + "…"
		}
		// DAG names and errors come from outside: escaped, one line each,
		// so no name can forge a row or drive the terminal.
		msg := text.Line(r.Error)
		if runes := []rune(msg); len(runes) > 60 {
			msg = string(runes[:59]) + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, text.Line(r.DAG), r.State, text.Line(r.Trigger),
			r.QueuedAt.Local().Format("2006-01-02 15:04:05"), dur, msg)
	}
	tw.Flush()
	return exitOK
}
