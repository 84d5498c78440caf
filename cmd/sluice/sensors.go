package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
)

// The operator's hands on Kafka micro-batches: replay a stored batch, move
// a paused sensor's consumer group.

func init() {
	register(command{name: "sensors replay", summary: "queue a new run carrying the same stored batch as a finished sensor run (nothing read from Kafka)", run: runSensorsReplay})
	register(command{name: "sensors reset-offsets", summary: "move a paused sensor's consumer group to a time, an end or given offsets (--dry-run previews)", run: runSensorsResetOffsets})
}

const replayUsage = `Usage: sluice sensors replay RUN_ID [--reason TEXT] [--json] [flags]

Queues a new run of a finished Kafka sensor run's DAG carrying the same
batch, as the store holds it: no offset moves and nothing is read from
Kafka again. The new run is linked to the original (rerun_of). While a
replay of the run is queued or running, a second one queues nothing and
names the first.
`

func runSensorsReplay(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("sensors replay", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var cfg engine.Config
	addStateDirFlag(fs, env, &cfg.StateDir)
	addStoreFlag(fs, env, &cfg.Store)
	reason := fs.String("reason", "", "why, for the audit log")
	asJSON := fs.Bool("json", false, "print the new run as JSON")
	setUsage(fs, env.stderr, replayUsage)
	if code, ok := parseCommandFlags(fs, env, args, 1, nil); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.stderr, "sluice sensors replay: name the run whose batch to replay")
		fs.Usage()
		return exitUsage
	}
	id, ok := parseRunID(env, fs, fs.Arg(0))
	if !ok {
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	newID, err := eng.ReplayBatch(ctx, id, *reason)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	run, err := eng.Store().Run(ctx, newID)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if *asJSON {
		return printJSON(env, runRowOf(run))
	}
	fmt.Fprintf(env.stdout, "queued run %d, a replay of run %d's batch %s\n", newID, id, run.Batch)
	return exitOK
}

const resetUsage = `Usage: sluice sensors reset-offsets DAG [--sensor N] (--to-time T | --to-earliest | --to-latest | --to-offset P:O[,P:O]) [--dry-run] [--allow-reprocess] [--reason TEXT] [--json] [flags]

Moves the consumer group of a DAG's Kafka sensor (the first unless
--sensor) and prints, per partition, the committed offset, the new one and
the records the sensor will read again. Only while the sensor is paused
('sluice dags pause DAG'; a paused sensor leaves its group, and Kafka takes
offsets only for an empty group). --to-time takes an RFC 3339 time or a
duration ago (2h): each partition moves to its first record at or after
it. --to-offset names partitions (of every topic of the sensor); the
others stay. Offsets beyond the log are clamped to it.

Records that runs already carry are trimmed when read again, as after a
crash, so nothing is doubled; --allow-reprocess releases those batches so
the records go into new runs. --dry-run prints the plan and changes
nothing. The DAG's definition comes from the store (an engine has loaded
it on this state dir); the brokers from --kafka-brokers or the
environment.

Exit status: 0 reset (or planned), 1 refused (the sensor runs, the group
has members, the broker refused), 2 usage error.
`

// offsetTargets is --to-offset: P:O pairs, comma-separated or repeated.
type offsetTargets map[int32]int64

func (o offsetTargets) String() string { return "" }

func (o offsetTargets) Set(s string) error {
	var req api.ResetOffsetsRequest
	if err := api.ParseOffsetTarget(s, time.Now(), &req); err != nil || req.To != api.ToOffset {
		return fmt.Errorf("%q is not PARTITION:OFFSET[,PARTITION:OFFSET]", s)
	}
	maps.Copy(o, req.Offset)
	return nil
}

func runSensorsResetOffsets(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("sensors reset-offsets", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var cfg engine.Config
	addStateDirFlag(fs, env, &cfg.StateDir)
	addStoreFlag(fs, env, &cfg.Store)
	kc, kerr := flags.KafkaFromEnv(env.getenv)
	cfg.Kafka = kc
	flags.RegisterKafka(fs, &cfg.Kafka, flags.KafkaPrefix)
	index := fs.Int("sensor", 0, "the sensor's index in the DAG")
	toTime := fs.String("to-time", "", "the first record at or after this time (RFC 3339, or a duration ago)")
	earliest := fs.Bool("to-earliest", false, "the oldest offset the log keeps")
	latest := fs.Bool("to-latest", false, "the log end: skip everything not yet read")
	offsets := offsetTargets{}
	fs.Var(offsets, "to-offset", "PARTITION:OFFSET, comma-separated or repeated")
	dry := fs.Bool("dry-run", false, "print the plan; change nothing")
	reprocess := fs.Bool("allow-reprocess", false, "put records runs already carry into new runs")
	reason := fs.String("reason", "", "why, for the audit log")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	setUsage(fs, env.stderr, resetUsage+"\n"+kafkaConnHelp)
	if code, ok := parseCommandFlags(fs, env, args, 1, kerr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.stderr, "sluice sensors reset-offsets: name the DAG")
		fs.Usage()
		return exitUsage
	}
	req := api.ResetOffsetsRequest{DAG: fs.Arg(0), Sensor: *index, DryRun: *dry, AllowReprocess: *reprocess, Reason: *reason}
	targets := 0
	if *toTime != "" {
		t, err := parseSince(*toTime, time.Now())
		if err != nil {
			fmt.Fprintf(env.stderr, "sluice sensors reset-offsets: --to-time: %v\n", err)
			return exitUsage
		}
		req.To, req.Time = api.ToTime, t
		targets++
	}
	if *earliest {
		req.To = api.ToEarliest
		targets++
	}
	if *latest {
		req.To = api.ToLatest
		targets++
	}
	if len(offsets) > 0 {
		req.To, req.Offset = api.ToOffset, offsets
		targets++
	}
	if targets != 1 {
		fmt.Fprintln(env.stderr, "sluice sensors reset-offsets: give one of --to-time, --to-earliest, --to-latest, --to-offset")
		return exitUsage
	}
	if len(cfg.Kafka.Brokers) == 0 {
		fmt.Fprintln(env.stderr, "sluice sensors reset-offsets: no Kafka brokers: set --kafka-brokers or SLUICE_KAFKA_BROKERS")
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	plan, err := eng.ResetOffsets(ctx, req)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", fs.Name(), err)
		if errors.Is(err, engine.ErrNoState) {
			return exitUsage
		}
		return exitFailed
	}
	if *asJSON {
		return printJSON(env, plan)
	}
	printResetPlan(env, plan, req)
	return exitOK
}

func printResetPlan(env *cliEnv, plan api.ResetOffsetsPlan, req api.ResetOffsetsRequest) {
	fmt.Fprintf(env.stdout, "group %s (sensor %d of %s)\n", plan.Group, plan.Sensor, plan.DAG)
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT\t\tNEW\tRE-READ\tSKIPPED\tIN RUNS")
	for _, c := range plan.Partitions {
		cur := strconv.FormatInt(c.Current, 10)
		if c.Current < 0 {
			cur = "none"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t→\t%d\t%d\t%d\t%d\n", c.Topic, c.Partition, cur, c.New, c.Reread, c.Skipped, c.Carried)
	}
	tw.Flush()
	reread, skipped, carried := plan.Totals()
	fmt.Fprintf(env.stdout, "\n%d records to read again, %d skipped", reread, skipped)
	switch {
	case carried == 0:
		fmt.Fprintln(env.stdout)
	case req.AllowReprocess:
		fmt.Fprintf(env.stdout, "; %d of them already in runs go into new runs (--allow-reprocess)\n", carried)
	default:
		fmt.Fprintf(env.stdout, "; %d of them already in runs are trimmed, not run again (--allow-reprocess runs them)\n", carried)
	}
	if plan.DryRun {
		fmt.Fprintln(env.stdout, "dry run: nothing changed")
		return
	}
	fmt.Fprintf(env.stdout, "committed; %d stored batches released; resume the sensor with 'sluice dags unpause %s'\n", plan.Released, plan.DAG)
}
