package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice/engine/dag"
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

// dagFile is a file to check and the DAG name it would load as.
type dagFile struct{ path, name string }

func runValidate(ctx context.Context, env *cliEnv, args []string) int {
	flags := flag.NewFlagSet("validate", flag.ContinueOnError)
	flags.SetOutput(env.stderr)
	asJSON := flags.Bool("json", false, "print a JSON array of results instead of one line per problem")
	flags.Usage = func() {
		fmt.Fprintf(env.stderr, `Usage: sluice validate [--json] PATH...

Checks DAG files: each PATH is a .json or .star file, or a folder searched
recursively for them (hidden files and folders are skipped). Prints one line
per problem, FILE: node "ID": /path: message, then a summary.

Exit status: 0 every file is valid, 1 some file is invalid, 2 usage error or
unreadable path.

Flags:
`)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() == 0 {
		fmt.Fprintln(env.stderr, "sluice validate: no PATH given")
		flags.Usage()
		return exitUsage
	}

	code := exitOK
	var files []dagFile
	for _, root := range flags.Args() {
		found, err := findDAGFiles(root)
		if err != nil {
			fmt.Fprintf(env.stderr, "sluice validate: %v\n", err)
			code = exitUsage
			continue
		}
		if len(found) == 0 {
			fmt.Fprintf(env.stderr, "sluice validate: no .json or .star files under %s\n", root)
		}
		files = append(files, found...)
	}

	opts := dag.Options{Env: func(name string) (string, bool) {
		v := env.getenv(name)
		return v, v != ""
	}}
	results := make([]validateResult, 0, len(files))
	invalid := 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(env.stderr, "sluice validate: %v\n", err)
			return exitUsage
		}
		errs, err := validateFile(f.path, opts)
		if err != nil {
			fmt.Fprintf(env.stderr, "sluice validate: %v\n", err)
			code = exitUsage
			continue
		}
		r := validateResult{File: f.path, DAG: f.name, Valid: len(errs) == 0, Errors: []validateError{}}
		for _, e := range errs {
			r.Errors = append(r.Errors, validateError{Node: e.Node, Path: e.Path, Line: e.Line, Col: e.Col, Message: e.Msg})
		}
		if !r.Valid {
			invalid++
		}
		if !*asJSON {
			for _, e := range errs {
				fmt.Fprintln(env.stdout, oneLine(e.Error()))
			}
		}
		results = append(results, r)
	}

	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
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

// findDAGFiles lists the DAG files at root: root itself when it is a file
// (whatever its extension: the user named it), else every .json and .star
// below it in lexical order.
func findDAGFiles(root string) ([]dagFile, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		base := filepath.Base(root)
		return []dagFile{{path: root, name: dag.NameFromPath(base)}}, nil
	}
	var out []dagFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !dag.IsDAGFile(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out = append(out, dagFile{path: p, name: dag.NameFromPath(filepath.ToSlash(rel))})
		return nil
	})
	return out, err
}

// validateFile returns the problems of one file; err only when the file
// cannot be read at all.
func validateFile(path string, opts dag.Options) (dag.Errors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	// Never read a huge file whole just to refuse it.
	if info.Size() > dag.MaxFileSize {
		return dag.Errors{dag.TooLarge(path, info.Size())}, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, dag.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	_, err = dag.Parse(path, data, opts)
	return dag.AsErrors(path, err), nil
}

// oneLine keeps one problem on one line even when a message quotes text
// with newlines.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}
