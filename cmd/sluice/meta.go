package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

func init() {
	register(command{name: "meta analyze", summary: "analyse dbt + Mode: stale reports, unused models, centrality, models per day", run: runMetaAnalyze})
}

func runMetaAnalyze(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("meta analyze", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cfg, envErr := flags.MetaFromEnv(env.getenv)
	flags.RegisterMeta(fs, &cfg)
	flags.RegisterMetaTimeoutAlias(fs, &cfg)
	exposuresOut := fs.String("exposures-out", "", "write the generated dbt exposures YAML to `FILE`")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	top := fs.Int("top", 20, "centrality table: the `N` most important models (0: all)")
	verbose := fs.Bool("v", false, "log progress to stderr")
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, `Usage: sluice meta analyze --manifest PATH [--run-results DIR] [--mode-url URL --mode-workspace W] [--json] [--top N]

Runs the metapipeline's analysis once: reads the dbt manifest (and run
history), reads every Mode report and query, links each query's SQL to dbt
models, and prints the stale reports, the models no one consumes (with the
reason and their files), the most central models, and models run per day.

Mode credentials come from $%s and $%s; they are never printed.

Exit status: 0 the analysis ran, 1 it failed (Mode refused, say), 2 usage
error or unreadable dbt artifacts.

Flags:
`, mode.EnvToken, mode.EnvSecret)
		fs.PrintDefaults()
	}
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "sluice meta analyze: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", envErr)
		return exitUsage
	}
	if cfg.Manifest == "" {
		fmt.Fprintln(env.stderr, "sluice meta analyze: --manifest is required")
		seeHelp(env.stderr, fs)
		return exitUsage
	}

	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.stderr, nil))
	}
	eng, err := engine.Open(ctx, engine.Options{Offline: true, Config: engine.Config{
		Logger: logger,
		Meta:   engine.MetaConfig{Config: cfg, ModeToken: env.getenv(mode.EnvToken), ModeSecret: env.getenv(mode.EnvSecret)},
	}})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", err)
		return exitUsage
	}
	defer eng.Close()
	report, err := eng.Analyse(ctx)
	var step *engine.MetaStepError
	switch {
	case errors.As(err, &step) && step.Step == engine.MetaStepDBT:
		// A bad manifest (or Mode setting) is a usage error, not an
		// analysis failure.
		fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", step.Err)
		return exitUsage
	case errors.As(err, &step):
		fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", step.Err)
		return exitFailed
	case err != nil:
		fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", err)
		return exitUsage
	}
	if *exposuresOut != "" {
		if report.BI == nil {
			fmt.Fprintln(env.stderr, "sluice meta analyze: --exposures-out needs Mode (--mode-workspace)")
			return exitUsage
		}
		if err := os.WriteFile(*exposuresOut, report.Exposures.YAML, 0o644); err != nil {
			fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", err)
			return exitFailed
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(env.stderr, "sluice meta analyze: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	printMetaReport(env.stdout, report, *top)
	return exitOK
}

func printMetaReport(w io.Writer, r *meta.Report, top int) {
	m := r.Manifest
	fmt.Fprintf(w, "dbt: %s (manifest v%d, dbt %s, %s): %d models (%d local), %d seeds, %d snapshots, %d sources, %d exposures\n",
		m.Project, m.SchemaVersion, m.DBTVersion, m.Adapter, m.Models, m.LocalModels, m.Seeds, m.Snapshots, m.Sources, m.Exposures)
	if bi := r.BI; bi != nil {
		fmt.Fprintf(w, "Mode: workspace %s: %d spaces, %d reports (%d archived), %d queries (%d read dbt models), %d unmatched references",
			bi.Workspace, bi.Spaces, bi.Reports, bi.ArchivedReports, bi.Queries, bi.LinkedQueries, len(bi.Unmatched))
		if bi.DefinitionQueries > 0 {
			fmt.Fprintf(w, ", %d queries use Mode definitions (not resolved)", bi.DefinitionQueries)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "Mode: not configured; exposures and the semantic layer are the only consumers")
	}

	fmt.Fprintf(w, "\nStale reports (%d):\n", len(r.Stale))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range r.Stale {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Token, s.Name, s.Reason)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nDeprecation candidates (%d):\n", len(r.Candidates))
	if r.Notice != "" {
		fmt.Fprintf(w, "  %s\n", r.Notice)
	}
	for _, c := range r.Candidates {
		fmt.Fprintf(w, "  %s  (importance %.3f)\n      %s\n      files: %s\n", c.UniqueID, c.Importance, c.Reason, strings.Join(c.Files, ", "))
	}
	for _, c := range r.HeldVersions {
		fmt.Fprintf(w, "  not proposed: %s: %s\n", c.UniqueID, c.Reason)
	}

	if len(r.UnusedSources) > 0 {
		fmt.Fprintf(w, "\nUnused sources (%d; staged for removal only with --include-sources):\n", len(r.UnusedSources))
		for _, c := range r.UnusedSources {
			fmt.Fprintf(w, "  %s  (%s)\n      %s\n", c.UniqueID, c.PatchPath, c.Reason)
		}
	}

	shown := r.Top(top)
	fmt.Fprintf(w, "\nCentrality (top %d of %d models by importance):\n", len(shown), len(r.Centrality))
	// Numbers align right; the model column is padded by hand to stay left.
	width := len("MODEL")
	for _, c := range shown {
		width = max(width, len(c.ID))
	}
	// With a run history, the mean runtime sits beside importance: a
	// central model that runs long is the bottleneck worth optimising.
	runtime := len(r.Runtimes) > 0
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\tIMPORTANCE\tDEGREE\tIN\tOUT\tCLOSENESS\tBETWEENNESS\tPAGERANK\t", width, "MODEL")
	if runtime {
		fmt.Fprint(tw, "MEAN RUN\t")
	}
	fmt.Fprintln(tw)
	for _, c := range shown {
		fmt.Fprintf(tw, "  %-*s\t%.3f\t%.4f\t%.4f\t%.4f\t%.4f\t%.6f\t%.6f\t", width, c.ID, c.Importance, c.Degree, c.InDegree, c.OutDegree, c.Closeness, c.Betweenness, c.PageRank)
		if runtime {
			if rt, ok := r.Runtimes[c.ID]; ok {
				fmt.Fprintf(tw, "%.2fs\t", rt.MeanSeconds)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nModels run per day (%d days):\n", len(r.ModelsPerDay))
	printDayBars(w, r.ModelsPerDay)
}

// printDayBars draws one bar per day, scaled to the busiest.
func printDayBars(w io.Writer, days []dbt.DayCount) {
	most := 0
	for _, d := range days {
		most = max(most, d.Count)
	}
	for _, d := range days {
		bar := 0
		if most > 0 {
			bar = (d.Count*40 + most - 1) / most
		}
		fmt.Fprintf(w, "  %s %5d %s\n", d.Day, d.Count, strings.Repeat("█", bar))
	}
}
