package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

func init() {
	register(command{name: "meta run", summary: "run the metapipeline once: analyse, then stage review items (branches, reports to archive)", run: runMetaRun})
}

func runMetaRun(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("meta run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	mcfg, metaErr := flags.MetaFromEnv(env.getenv)
	flags.RegisterMeta(fs, &mcfg)
	flags.RegisterMetaTimeoutAlias(fs, &mcfg)
	rcfg, envErr := flags.ReviewFromEnv(env.getenv)
	flags.RegisterReview(fs, &rcfg)
	var stateDir, storeURL string
	addStateDirFlag(fs, env, &stateDir)
	addStoreFlag(fs, env, &storeURL)
	asJSON := fs.Bool("json", false, "print the staged items as JSON")
	verbose := fs.Bool("v", false, "log progress to stderr")
	fs.Usage = func() {
		fmt.Fprint(env.stderr, `Usage: sluice meta run --repo PATH_OR_URL --manifest PATH [--mode-workspace W] [flags]

Runs the metapipeline once and exits: the analysis of 'sluice meta analyze',
then staging. Unused models become a branch removing their files and YAML
entries, regenerated exposures a second branch (both built in a scratch
clone under the state dir — your checkout is only read), stale reports an
archive item. A re-run updates staged items instead of adding more; review
them with 'sluice review list' or in the console.

Exit status: 0 done, 1 the analysis or staging failed, 2 usage error or
unreadable dbt artifacts.

`+flags.ReviewEnvHelp+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(env.stderr, "sluice meta run: unexpected arguments %q\n", fs.Args())
		return exitUsage
	case envErr != nil || metaErr != nil:
		fmt.Fprintf(env.stderr, "sluice meta run: %v\n", errors.Join(envErr, metaErr))
		return exitUsage
	case mcfg.Manifest == "" || rcfg.Repo == "":
		fmt.Fprintln(env.stderr, "sluice meta run: --manifest and --repo are required")
		seeHelp(env.stderr, fs)
		return exitUsage
	}

	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.stderr, nil))
	}
	eng, err := engine.Open(ctx, engine.Options{Offline: true, Config: engine.Config{
		StateDir: stateDir,
		Store:    storeURL,
		Logger:   logger,
		Meta:     engine.MetaConfig{Config: mcfg, ModeToken: env.getenv(mode.EnvToken), ModeSecret: env.getenv(mode.EnvSecret)},
		Review:   rcfg,
	}})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice meta run: %v\n", err)
		return exitUsage
	}
	defer eng.Close()
	report, items, err := eng.AnalyseAndStage(ctx)
	var step *engine.MetaStepError
	var stageErr error
	switch {
	case errors.As(err, &step) && step.Step == engine.MetaStepDBT:
		fmt.Fprintf(env.stderr, "sluice meta run: %v\n", step.Err)
		return exitUsage
	case errors.As(err, &step) && step.Step == engine.MetaStepAnalysis:
		fmt.Fprintf(env.stderr, "sluice meta run: %v\n", err)
		return exitFailed
	case errors.As(err, &step):
		stageErr = step.Err
	case err != nil:
		fmt.Fprintf(env.stderr, "sluice meta run: %v\n", err)
		return exitUsage
	}

	if *asJSON {
		out := struct {
			Candidates   int          `json:"candidates"`
			StaleReports int          `json:"stale_reports"`
			Reviews      []reviewJSON `json:"reviews"`
			Error        string       `json:"error,omitempty"`
		}{Candidates: len(report.Candidates), StaleReports: len(report.Stale), Reviews: []reviewJSON{}}
		for _, it := range items {
			out.Reviews = append(out.Reviews, toReviewJSON(it, false))
		}
		if stageErr != nil {
			out.Error = stageErr.Error()
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		bi := "Mode not configured"
		if report.BI != nil {
			bi = fmt.Sprintf("%d stale reports", len(report.Stale))
		}
		fmt.Fprintf(env.stdout, "Analysis: %d models, %d deprecation candidates, %s.\n", report.Manifest.Models, len(report.Candidates), bi)
		if report.Notice != "" {
			fmt.Fprintf(env.stdout, "Nothing proposed for deletion: %s.\n", report.Notice)
		}
		if len(items) == 0 {
			fmt.Fprintln(env.stdout, "Nothing to review.")
		} else {
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSTATE\tBRANCH\tTITLE")
			for _, it := range items {
				branch := it.Branch
				if branch == "" {
					branch = "-"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", it.ID, it.Kind, it.State, branch, it.Title)
			}
			tw.Flush()
		}
	}
	if stageErr != nil {
		fmt.Fprintf(env.stderr, "sluice meta run: staging: %v\n", stageErr)
		return exitFailed
	}
	return exitOK
}
