package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/loader"
)

func init() {
	register(command{name: "dags list", summary: "load every DAG source once and list the DAGs with their status", run: runDagsList})
	register(command{name: "dags watch", summary: "run the DAG loader and print each change as it happens", run: runDagsWatch})
}

const dagsSourceHelp = `Sources: the folder DAGS_DIR (./dags), the bucket DAGS_S3_BUCKET below
DAGS_S3_PREFIX, with the standard AWS chain (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_S3 for MinIO and other S3-compatible stores), and the git
repository DAGS_GIT_URL at DAGS_GIT_REF (default: the remote's HEAD) below
DAGS_GIT_PATH (token: DAGS_GIT_TOKEN, else GITHUB_TOKEN; SSH: DAGS_GIT_SSH_KEY,
else SLUICE_SSH_KEY, else the agent, the host key checked against
SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts). Flags win over the environment.
`

// dagsFlags builds a command's flag set: the loader's flags with the
// environment as defaults, plus --json and -v.
func dagsFlags(name, usage string, env *cliEnv) (*flag.FlagSet, *loader.Config, *bool, *bool, error) {
	cfg, err := flags.LoaderFromEnv(env.getenv)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	flags.RegisterLoader(fs, &cfg)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	verbose := fs.Bool("v", false, "log the loader's activity to stderr")
	fs.Usage = func() {
		fmt.Fprint(env.stderr, usage)
		fmt.Fprint(env.stderr, "\n"+dagsSourceHelp+"\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, &cfg, asJSON, verbose, err
}

// parseDagsFlags parses args; ok false means return code now.
func parseDagsFlags(fs *flag.FlagSet, envErr error, env *cliEnv, args []string) (code int, ok bool) {
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "sluice %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		seeHelp(env.stderr, fs)
		return exitUsage, false
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", fs.Name(), envErr)
		return exitUsage, false
	}
	return exitOK, true
}

func dagsLogger(env *cliEnv, verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(env.stderr, nil))
}

// dagRow is one DAG in `dags list --json`.
type dagRow struct {
	Name         string          `json:"name"`
	Source       string          `json:"source"`
	Location     string          `json:"location"`
	Status       api.DAGStatus   `json:"status"`
	Nodes        int             `json:"nodes"`
	Error        string          `json:"error"`
	Errors       []api.ErrorLine `json:"errors,omitempty"`
	ConflictWith string          `json:"conflict_with,omitempty"`
	Checksum     string          `json:"checksum,omitempty"`
	LoadedAt     *time.Time      `json:"loaded_at,omitempty"`
	NextFire     *time.Time      `json:"next_fire,omitempty"`
	// Origin is the git commit the active version came from.
	Origin *api.Commit `json:"origin,omitempty"`
}

func rowOf(d api.DAG) dagRow {
	r := dagRow{
		Name: d.Name, Source: d.Source, Location: d.Location, Status: d.Status,
		Error: loader.ErrorText(d.Errors), Errors: d.Errors, ConflictWith: d.ConflictWith, Checksum: d.Checksum,
		Origin: d.Origin,
	}
	if d.Def != nil {
		r.Nodes = len(d.Def.Nodes)
	}
	if d.Status == api.DAGConflict {
		r.Error = "name held by " + d.ConflictWith
	}
	if !d.LoadedAt.IsZero() {
		r.LoadedAt = &d.LoadedAt
	}
	if !d.NextFire.IsZero() {
		r.NextFire = &d.NextFire
	}
	return r
}

func runDagsList(ctx context.Context, env *cliEnv, args []string) int {
	fs, cfg, asJSON, verbose, envErr := dagsFlags("dags list", `Usage: sluice dags list [flags]

Loads every configured DAG source once and prints each DAG: name, source
(local or s3), status (active, invalid, disabled, conflict), node count,
location, and the errors of invalid files. --json prints an array of objects
with name, source, location, status, nodes and error.

Exit status: 0 all good, 1 some DAG is invalid or in conflict, 2 a source
could not be read or usage error.
`, env)
	if code, ok := parseDagsFlags(fs, envErr, env, args); !ok {
		return code
	}
	eng, err := openDAGs(ctx, *cfg, dagsLogger(env, *verbose))
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice dags list: %v\n", err)
		return exitUsage
	}
	defer eng.Close()
	listing, err := eng.ListDAGs(ctx)
	if err != nil && !errors.Is(err, loader.ErrSourceFailed) {
		fmt.Fprintf(env.stderr, "sluice dags list: %v\n", err)
		return exitUsage
	}
	dags := listing.DAGs
	// What reaches the terminal is escaped (names, locations and errors come
	// from files and buckets); --json keeps the values as they are, since
	// JSON escapes control characters itself.
	shown := (&api.Snapshot{DAGs: dags, Sources: listing.Sources}).Sanitized()

	code := exitOK
	for _, d := range dags {
		if d.Status == api.DAGInvalid || d.Status == api.DAGConflict {
			code = exitFailed
		}
	}
	for _, s := range shown.Sources {
		switch {
		case !s.OK:
			fmt.Fprintf(env.stderr, "sluice dags list: source %s (%s) could not be read: %s\n", s.Name, s.Location, text.Line(s.Error))
		case s.Error != "":
			fmt.Fprintf(env.stderr, "sluice dags list: source %s (%s): %s\n", s.Name, s.Location, text.Line(s.Error))
		}
	}
	for _, hint := range timeoutHints(err, *cfg) {
		fmt.Fprintf(env.stderr, "sluice dags list: %s\n", hint)
	}
	if listing.Scan.Failed > 0 {
		code = exitUsage
	}

	if *asJSON {
		rows := make([]dagRow, 0, len(dags))
		for _, d := range dags {
			rows = append(rows, rowOf(d))
		}
		if err := writeJSON(env.stdout, rows); err != nil {
			fmt.Fprintf(env.stderr, "sluice dags list: %v\n", err)
			return exitUsage
		}
		return code
	}
	printDAGTable(env.stdout, shown.DAGs)
	return code
}

// timeoutHints says, once per limit, how to change the timeout that cut a
// source in err (the loader's messages name no flag).
func timeoutHints(err error, cfg loader.Config) []string {
	var request, scan bool
	var walk func(error)
	walk = func(err error) {
		var te *loader.TimeoutError
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				walk(err)
			}
		default:
			if errors.As(err, &te) {
				request, scan = request || !te.Scan, scan || te.Scan
			}
		}
	}
	walk(err)
	var hints []string
	if request {
		hints = append(hints, fmt.Sprintf("each S3 request, retries included, is given %s: change it with --%s or %s",
			cfg.S3RequestTimeout, flags.FlagS3RequestTimeout, flags.EnvS3RequestTimeout))
	}
	if scan {
		hints = append(hints, fmt.Sprintf("each source's scan is given %s: change it with --%s or %s",
			cfg.ScanTimeout, flags.FlagScanTimeout, flags.EnvScanTimeout))
	}
	return hints
}

// printDAGTable prints dags, which the caller has sanitised.
func printDAGTable(w io.Writer, dags []api.DAG) {
	if len(dags) == 0 {
		fmt.Fprintln(w, "no DAGs")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tSTATUS\tNODES\tLOCATION")
	var problems []dagRow
	for _, d := range dags {
		r := rowOf(d)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Name, r.Source, r.Status, r.Nodes, r.Location)
		if r.Error != "" && d.Status != api.DAGDisabled {
			problems = append(problems, r)
		}
	}
	tw.Flush()
	if len(problems) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, r := range problems {
		fmt.Fprintf(w, "%s (%s):\n", r.Name, r.Location)
		for _, line := range strings.Split(r.Error, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
		if r.Status == api.DAGInvalid && r.Nodes > 0 {
			fmt.Fprintln(w, "  (the last good version stays active)")
		}
	}
}

// watchEvent is one line of `dags watch --json`.
type watchEvent struct {
	Time     time.Time     `json:"time"`
	Name     string        `json:"name"`
	Change   string        `json:"change"`
	Status   api.DAGStatus `json:"status"`
	Source   string        `json:"source"`
	Location string        `json:"location"`
	Error    string        `json:"error,omitempty"`
}

func runDagsWatch(ctx context.Context, env *cliEnv, args []string) int {
	fs, cfg, asJSON, verbose, envErr := dagsFlags("dags watch", `Usage: sluice dags watch [flags]

Runs the DAG loader and prints one line per change (loaded, reloaded,
invalid, disabled, deleted, conflict), starting with the initial load, until
interrupted. --json prints one JSON object per line with time, name, change,
status, source, location and error. Source failures go to stderr.
`, env)
	if code, ok := parseDagsFlags(fs, envErr, env, args); !ok {
		return code
	}
	eng, err := openDAGs(ctx, *cfg, dagsLogger(env, *verbose))
	if err != nil {
		if ctx.Err() != nil {
			return exitOK
		}
		fmt.Fprintf(env.stderr, "sluice dags watch: %v\n", err)
		return exitUsage
	}
	defer eng.Close()

	enc := json.NewEncoder(env.stdout)
	var dags []api.DAG
	health := map[string]string{}
	err = eng.WatchDAGs(ctx, func(cur []api.DAG, sources []api.Source) {
		now := time.Now()
		for _, c := range loader.Diff(dags, cur) {
			if *asJSON {
				enc.Encode(watchEvent{Time: now, Name: c.Name, Change: c.Kind, Status: c.Status,
					Source: c.Source, Location: c.Location, Error: c.Error})
				continue
			}
			line := fmt.Sprintf("%s %-8s %s (%s %s)", now.Format("15:04:05.000"), c.Kind, text.Line(c.Name), text.Line(c.Source), text.Line(c.Location))
			if c.Kind == loader.ChangeInvalid && c.Error != "" {
				line += ": " + text.Line(strings.ReplaceAll(c.Error, "\n", "; "))
			}
			fmt.Fprintln(env.stdout, line)
		}
		dags = cur
		for _, s := range (&api.Snapshot{Sources: sources}).Sanitized().Sources {
			s.Error = text.Line(s.Error) // one line on stderr
			state := s.Error
			if s.OK {
				state = "ok " + s.Error
			}
			if prev, seen := health[s.Name]; seen && prev == state || !seen && s.OK && s.Error == "" {
				health[s.Name] = state
				continue
			}
			health[s.Name] = state
			switch {
			case !s.OK:
				fmt.Fprintf(env.stderr, "%s source %s (%s) failed, its DAGs are kept: %s\n", now.Format("15:04:05.000"), s.Name, s.Location, s.Error)
			case s.Error != "":
				fmt.Fprintf(env.stderr, "%s source %s (%s): %s\n", now.Format("15:04:05.000"), s.Name, s.Location, s.Error)
			default:
				fmt.Fprintf(env.stderr, "%s source %s (%s) ok\n", now.Format("15:04:05.000"), s.Name, s.Location)
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(env.stderr, "sluice dags watch: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// openDAGs opens the engine offline for the dags commands: loading only.
func openDAGs(ctx context.Context, cfg loader.Config, log *slog.Logger) (*engine.Engine, error) {
	return engine.Open(ctx, engine.Options{Offline: true, Config: engine.Config{Loader: cfg, Logger: log}})
}
