package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
)

// reprocessFlag is --reprocess: a value other than failed, all or none is
// a usage error, refused while the flags are parsed.
type reprocessFlag string

func (f *reprocessFlag) String() string { return string(*f) }

func (f *reprocessFlag) Set(s string) error {
	switch s {
	case api.ReprocessFailed, api.ReprocessAll, api.ReprocessNone:
		*f = reprocessFlag(s)
		return nil
	}
	return errors.New("want failed, all or none")
}

func init() {
	register(command{name: "backfill", summary: "queue one run of a scheduled DAG per fire time in a range (--dry-run lists them)", run: runBackfill})
	register(command{name: "backfills list", summary: "list backfills with their progress", run: runBackfillsList})
	register(command{name: "backfills cancel", summary: "cancel a backfill: nothing more queued, its runs cancelled", run: runBackfillsCancel})
}

const backfillUsage = `Usage: sluice backfill DAG --from TIME --to TIME [--dry-run] [--max-active N] [--reprocess failed|all|none] [--json] [flags]

Queues one run of DAG per fire time of its schedule in [--from, --to]
(RFC 3339 times, or durations ago: --from 48h --to 1h). Each run carries
its fire time as scheduled_for and in its run config ({"logical_time": …}).
--reprocess failed (the default) skips fire times that already succeeded,
none skips those with any run, all skips nothing. --max-active bounds the
backfill's runs queued or running at once (0: no bound). The backfill is
one object: 'sluice backfills list' shows its progress, 'sluice backfills
cancel ID' cancels it whole. --dry-run lists the fire times and what is
skipped, and queues nothing.
`

func runBackfill(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var cfg engine.Config
	addStateDirFlag(fs, env, &cfg.StateDir)
	addStoreFlag(fs, env, &cfg.Store)
	from := fs.String("from", "", "first time of the range (RFC 3339, or a duration ago)")
	to := fs.String("to", "", "last time of the range (RFC 3339, or a duration ago; default now)")
	dry := fs.Bool("dry-run", false, "list the fire times and what would be skipped; queue nothing")
	maxActive := fs.Int("max-active", 0, "runs of the backfill queued or running at once (0: no bound)")
	reprocess := reprocessFlag(api.ReprocessFailed)
	fs.Var(&reprocess, "reprocess", "what to run again: failed, all or none")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	fs.Usage = func() {
		fmt.Fprint(env.stderr, backfillUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommandFlags(fs, env, args, 1, nil); !ok {
		return code
	}
	if fs.NArg() != 1 || *from == "" {
		fmt.Fprintln(env.stderr, "sluice backfill: name the DAG and give --from")
		seeHelp(env.stderr, fs)
		return exitUsage
	}
	now := time.Now()
	req := api.BackfillRequest{DAG: fs.Arg(0), DryRun: *dry, MaxActive: *maxActive, Reprocess: string(reprocess), To: now}
	var err error
	if req.From, err = parseSince(*from, now); err != nil {
		fmt.Fprintf(env.stderr, "sluice backfill: --from: %v\n", err)
		return exitUsage
	}
	if *to != "" {
		if req.To, err = parseSince(*to, now); err != nil {
			fmt.Fprintf(env.stderr, "sluice backfill: --to: %v\n", err)
			return exitUsage
		}
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	plan, err := eng.Backfill(ctx, req)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if *asJSON {
		if plan.Fires == nil {
			plan.Fires = []time.Time{}
		}
		if plan.Skipped == nil {
			plan.Skipped = []api.SkippedFire{}
		}
		return printJSON(env, plan)
	}
	verb := "queued"
	if *dry {
		verb = "would queue"
	}
	for _, t := range plan.Fires {
		fmt.Fprintf(env.stdout, "run   %s\n", t.UTC().Format(time.RFC3339))
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(env.stdout, "skip  %s  %s\n", s.At.UTC().Format(time.RFC3339), text.Line(s.Reason))
	}
	fmt.Fprintf(env.stdout, "%s %d runs of %s, skipped %d", verb, len(plan.Fires), text.Line(req.DAG), len(plan.Skipped))
	if plan.Backfill.ID != 0 {
		fmt.Fprintf(env.stdout, " (backfill %d)", plan.Backfill.ID)
	}
	fmt.Fprintln(env.stdout)
	return exitOK
}

func runBackfillsList(ctx context.Context, env *cliEnv, args []string) int {
	var asJSON *bool
	fs, cfg, code, ok := versionFlags(env, "backfills list", "Usage: sluice backfills list [--json] [flags]\n", 0, args, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print a JSON array of backfills")
	})
	if !ok {
		return code
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), *cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	bs, err := eng.Backfills(ctx)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if *asJSON {
		if bs == nil {
			bs = []api.Backfill{}
		}
		return printJSON(env, bs)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDAG\tSTATE\tPROGRESS\tRANGE\tBY\t")
	for _, b := range bs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s..%s\t%s\t\n", b.ID, text.Line(b.DAG), b.State, BackfillProgress(b),
			b.From.UTC().Format(time.RFC3339), b.To.UTC().Format(time.RFC3339), text.Line(b.By))
	}
	tw.Flush()
	return exitOK
}

// BackfillProgress says where a backfill is: "12 done, 1 failed, 5
// queued of 38".
func BackfillProgress(b api.Backfill) string {
	parts := []string{fmt.Sprintf("%d done", b.Succeeded)}
	if b.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", b.Failed))
	}
	if n := b.Queued + b.Running + b.Pending; n > 0 {
		parts = append(parts, fmt.Sprintf("%d queued", n))
	}
	if b.Cancelled > 0 {
		parts = append(parts, fmt.Sprintf("%d cancelled", b.Cancelled))
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" of %d", b.Total)
}

func runBackfillsCancel(ctx context.Context, env *cliEnv, args []string) int {
	fs, cfg, code, ok := versionFlags(env, "backfills cancel", "Usage: sluice backfills cancel ID [flags]\n", 1, args, nil)
	if !ok {
		return code
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(env.stderr, "sluice backfills cancel: %q is not a backfill id\n", fs.Arg(0))
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), *cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	if err := eng.CancelBackfill(ctx, id); err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	fmt.Fprintf(env.stdout, "cancelled backfill %d\n", id)
	return exitOK
}
