package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/store"
)

func init() {
	register(command{name: "instances", summary: "list the Sluice processes sharing the store, with their heartbeat and status", run: runInstances})
}

const instancesUsage = `Usage: sluice instances [--json] [--store URL] [--lease D] [flags]

Lists the instances (Sluice processes running runs) registered in the
store: id, host, pid, start, last heartbeat and status — live, dead (its
heartbeat is older than --lease: another instance takes over its runs) or
stopped (a clean shutdown).
`

// instanceRow is one instance in `instances --json`.
type instanceRow struct {
	ID            string     `json:"id"`
	Host          string     `json:"host"`
	PID           int        `json:"pid"`
	StartedAt     *time.Time `json:"started_at"`
	LastHeartbeat *time.Time `json:"last_heartbeat"`
	Status        string     `json:"status"`
}

func runInstances(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("instances", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	var errs []error
	lease := fs.Duration("lease", envDuration(env, "SLUICE_LEASE", 30*time.Second, &errs),
		"heartbeat age past which an instance is dead (env SLUICE_LEASE)")
	asJSON := fs.Bool("json", false, "print JSON")
	setUsage(fs, env.stderr, instancesUsage)
	if code, ok := parseCommandFlags(fs, env, args, 0, errors.Join(errs...)); !ok {
		return code
	}
	if *lease <= 0 {
		fmt.Fprintf(env.stderr, "sluice instances: --lease %s: want a positive duration\n", *lease)
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), engine.Config{StateDir: stateDir, Store: storeURL})
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	ins, err := eng.Instances(ctx)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice instances: %v\n", store.Redact(err.Error()))
		return exitFailed
	}
	now := time.Now()
	rows := make([]instanceRow, 0, len(ins))
	for _, in := range ins {
		rows = append(rows, instanceRow{ID: in.ID, Host: in.Host, PID: in.PID, StartedAt: timePtr(in.StartedAt),
			LastHeartbeat: timePtr(in.LastHeartbeat), Status: in.Status(now, *lease)})
	}
	if *asJSON {
		return printJSON(env, rows)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOST\tPID\tSTARTED\tLAST HEARTBEAT\tSTATUS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s ago\t%s\n", r.ID, r.Host, r.PID, r.StartedAt.Local().Format(time.DateTime),
			now.Sub(*r.LastHeartbeat).Round(time.Second), r.Status)
	}
	tw.Flush()
	return exitOK
}
