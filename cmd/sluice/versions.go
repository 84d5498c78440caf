package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api/text"
)

func init() {
	register(command{name: "dags versions", summary: "list a DAG's stored versions (the file's and the pinned one marked)", run: runDagsVersions})
	register(command{name: "dags pin", summary: "run a stored version of a DAG whatever its file says", run: runDagsPin})
	register(command{name: "dags unpin", summary: "run the DAG's file again", run: runDagsUnpin})
	register(command{name: "dags diff", summary: "show the unified diff between two versions of a DAG", run: runDagsDiff})
}

const versionsUsage = `Usage: sluice dags versions NAME [--json] [flags]

Every distinct content of a DAG's file that loaded is a version, numbered
from 1 and kept in the store (the newest 50, or the engine's
--keep-versions, and the pinned one). The version the file holds now is
marked "file", a pinned one "pinned". For a DAG from a git source, ORIGIN
(origin in --json: hash, short, author, subject, when) is the commit the
content was first loaded from: who changed the file, and why.
`

// versionFlags is the flag set of a versions command taking nargs
// arguments; ok false means return code now.
func versionFlags(env *cliEnv, name, usage string, nargs int, args []string, extra func(*flag.FlagSet)) (fs *flag.FlagSet, cfg *engine.Config, code int, ok bool) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	cfg = new(engine.Config)
	addStateDirFlag(fs, env, &cfg.StateDir)
	addStoreFlag(fs, env, &cfg.Store)
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprint(env.stderr, usage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommandFlags(fs, env, args, nargs, nil); !ok {
		return nil, nil, code, false
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(env.stderr, "sluice %s: expected %d argument(s)\n", name, nargs)
		seeHelp(env.stderr, fs)
		return nil, nil, exitUsage, false
	}
	return fs, cfg, exitOK, true
}

func parseVersion(env *cliEnv, fs *flag.FlagSet, s string) (int, bool) {
	v, err := strconv.Atoi(s)
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') {
		v, err = strconv.Atoi(s[1:])
	}
	if err != nil || v <= 0 {
		fmt.Fprintf(env.stderr, "sluice %s: %q is not a version number\n", fs.Name(), s)
		seeHelp(env.stderr, fs)
		return 0, false
	}
	return v, true
}

func runDagsVersions(ctx context.Context, env *cliEnv, args []string) int {
	var asJSON *bool
	fs, cfg, code, ok := versionFlags(env, "dags versions", versionsUsage, 1, args, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print a JSON array of versions")
	})
	if !ok {
		return code
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), *cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	// As stored: --json escapes in its own syntax, the table with
	// text.Line (a source is a file name, anyone's text).
	vs, err := eng.DAGVersionRecords(ctx, fs.Arg(0))
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if *asJSON {
		if vs == nil {
			vs = vs[:0:0]
		}
		return printJSON(env, vs)
	}
	if len(vs) == 0 {
		fmt.Fprintf(env.stdout, "no versions of %s stored\n", text.Line(fs.Arg(0)))
		return exitOK
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSHA256\tFIRST SEEN\tLAST SEEN\tSOURCE\tORIGIN\t")
	for _, v := range vs {
		mark := ""
		if v.Current {
			mark += " file"
		}
		if v.Pinned {
			mark += " pinned"
		}
		fmt.Fprintf(tw, "v%d%s\t%s\t%s\t%s\t%s\t%s\t\n", v.Version, mark, v.SHA256[:min(12, len(v.SHA256))],
			v.FirstSeen.UTC().Format(time.RFC3339), v.LastSeen.UTC().Format(time.RFC3339), text.Line(v.Source), text.Line(v.Origin.String()))
	}
	tw.Flush()
	return exitOK
}

const pinUsage = `Usage: sluice dags pin NAME VERSION [flags]

Pins a DAG to one of its stored versions (see 'sluice dags versions'):
schedules, sensors and triggers run that version whatever the file says —
edits are still recorded as versions, an invalid file changes nothing —
until 'sluice dags unpin NAME'. An engine running on the state dir
notices within a second.
`

func runDagsPin(ctx context.Context, env *cliEnv, args []string) int {
	fs, cfg, code, ok := versionFlags(env, "dags pin", pinUsage, 2, args, nil)
	if !ok {
		return code
	}
	v, ok := parseVersion(env, fs, fs.Arg(1))
	if !ok {
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), *cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	changed, err := eng.PinDAGChanged(ctx, fs.Arg(0), v)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if !changed {
		fmt.Fprintf(env.stdout, "%s is already pinned to v%d: nothing changed\n", text.Line(fs.Arg(0)), v)
		return exitOK
	}
	fmt.Fprintf(env.stdout, "pinned %s to v%d\n", text.Line(fs.Arg(0)), v)
	return exitOK
}

const unpinUsage = `Usage: sluice dags unpin NAME [flags]

The DAG runs its file's version again.
`

func runDagsUnpin(ctx context.Context, env *cliEnv, args []string) int {
	fs, cfg, code, ok := versionFlags(env, "dags unpin", unpinUsage, 1, args, nil)
	if !ok {
		return code
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), *cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	changed, err := eng.UnpinDAGChanged(ctx, fs.Arg(0))
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if !changed {
		fmt.Fprintf(env.stdout, "%s is not pinned: nothing changed\n", text.Line(fs.Arg(0)))
		return exitOK
	}
	fmt.Fprintf(env.stdout, "unpinned %s\n", text.Line(fs.Arg(0)))
	return exitOK
}

const diffUsage = `Usage: sluice dags diff NAME V1 V2 [flags]

Prints the unified diff from version V1 to version V2 of a DAG's file.
`

func runDagsDiff(ctx context.Context, env *cliEnv, args []string) int {
	fs, cfg, code, ok := versionFlags(env, "dags diff", diffUsage, 3, args, nil)
	if !ok {
		return code
	}
	v1, ok1 := parseVersion(env, fs, fs.Arg(1))
	if !ok1 {
		return exitUsage
	}
	v2, ok2 := parseVersion(env, fs, fs.Arg(2))
	if !ok2 {
		return exitUsage
	}
	eng, ok := offlineEngine(ctx, env, fs.Name(), *cfg)
	if !ok {
		return exitUsage
	}
	defer eng.Close()
	d, err := eng.DAGVersionDiff(ctx, fs.Arg(0), v1, v2)
	if err != nil {
		return actionFailed(env, fs.Name(), err)
	}
	if d == "" {
		fmt.Fprintf(env.stdout, "v%d and v%d of %s are the same\n", v1, v2, text.Line(fs.Arg(0)))
		return exitOK
	}
	// The engine escaped the content already; text.Diff again is cheap
	// and keeps this output safe whatever hands it the diff.
	fmt.Fprint(env.stdout, text.Diff(d))
	return exitOK
}
