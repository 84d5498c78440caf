package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/loader"
)

func init() {
	register(command{name: "validate", summary: "check DAG files (.json, .star) and report every problem", run: runValidate})
}

// validateResult is one file's outcome, also the --json shape.
type validateResult struct {
	File   string          `json:"file"`
	DAG    string          `json:"dag"`
	Valid  bool            `json:"valid"`
	Errors []validateError `json:"errors"`
}

type validateError struct {
	Node    string `json:"node,omitempty"`
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

func runValidate(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of one line per problem")
	// Starlark files read the environment as the loader lets them: the
	// same allow-list, so validate and the engine agree about a file.
	lcfg := loader.Config{Env: flags.StarlarkEnv(env.getenv), EnvAllow: flags.DAGsEnvAllowFromEnv(env.getenv)}
	flags.RegisterDAGsEnvAllow(fs, &lcfg)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, `Usage: sluice validate [--json] PATH...

Checks DAG files: each PATH is a .json or .star file, or a folder searched
recursively for them, skipping what the loader skips (hidden files and
folders, editor leftovers: #x#, x~, .swp, .tmp). Prints one line
per problem, FILE: node "ID": /path: message, then a summary. env() in
Starlark files reads SLUICE_DAG_* and the variables --dags-env-allow names,
as the engine's loader does.

Exit status: 0 every file is valid, 1 some file is invalid, 2 usage error or
unreadable path.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(env.stderr, "sluice validate: no PATH given")
		seeHelp(env.stderr, fs)
		return exitUsage
	}

	eng, err := engine.Open(ctx, engine.Options{Offline: true, Config: engine.Config{Loader: lcfg}})
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice validate: %v\n", err)
		return exitUsage
	}
	defer eng.Close()
	code := exitOK
	results := []validateResult{}
	invalid := 0
	for _, root := range fs.Args() {
		checks, problems, err := eng.Validate(ctx, root)
		for _, p := range problems {
			fmt.Fprintf(env.stderr, "sluice validate: %s\n", text.Line(p))
		}
		if err != nil {
			fmt.Fprintf(env.stderr, "sluice validate: %s\n", text.Line(err.Error()))
			if ctx.Err() != nil {
				return exitUsage
			}
			code = exitUsage
			continue
		}
		if len(checks) == 0 {
			fmt.Fprintf(env.stderr, "sluice validate: no .json or .star files under %s\n", text.Line(root))
		}
		for _, c := range checks {
			if c.Err != nil {
				fmt.Fprintf(env.stderr, "sluice validate: %s\n", text.Line(c.Err.Error()))
				code = exitUsage
				continue
			}
			r := validateResult{File: c.Path, DAG: c.DAG, Valid: len(c.Errors) == 0, Errors: []validateError{}}
			for _, e := range c.Errors {
				r.Errors = append(r.Errors, validateError{Node: e.Node, Path: e.Path, Line: e.Line, Col: e.Col, Message: e.Msg})
				if !*asJSON {
					// One problem a line, nothing a terminal obeys: file
					// names and messages quote the files.
					fmt.Fprintln(env.stdout, text.Line(e.Error()))
				}
			}
			if !r.Valid {
				invalid++
			}
			results = append(results, r)
		}
	}

	if *asJSON {
		if err := writeJSON(env.stdout, results); err != nil {
			fmt.Fprintf(env.stderr, "sluice validate: %v\n", err)
			return exitUsage
		}
	} else {
		fmt.Fprintf(env.stdout, "%d files, %d valid, %d invalid\n", len(results), len(results)-invalid, invalid)
	}
	if code == exitOK && invalid > 0 {
		code = exitFailed
	}
	return code
}
