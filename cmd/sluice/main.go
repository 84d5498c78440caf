// Command sluice is a terminal console for a data platform, and the engine
// behind it: `sluice` opens the console; subcommands run the engine headless,
// validate DAG files, and script the rest.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and found a problem (invalid file, failed run)
	exitUsage   = 2 // bad flags, unreadable path, unreachable source
	exitUnknown = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. Names may have two words ("dags list").
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) int
}

// cliEnv is what a subcommand may touch of the process: its streams and its
// environment, so tests run commands in-process.
type cliEnv struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

var commands []command

// register adds a subcommand; each file of this package registers its own.
func register(c command) { commands = append(commands, c) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cliEnv{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}
	code := dispatch(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// dispatch finds the subcommand named by the longest prefix of args.
func dispatch(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			usage(env.stdout)
			return exitOK
		case "version", "--version":
			fmt.Fprintf(env.stdout, "sluice %s\n", version)
			return exitOK
		}
	}
	best := -1
	for i, c := range commands {
		words := strings.Fields(c.name)
		if len(words) > len(args) {
			continue
		}
		if strings.Join(args[:len(words)], " ") == c.name && (best < 0 || len(words) > len(strings.Fields(commands[best].name))) {
			best = i
		}
	}
	if best >= 0 {
		c := commands[best]
		return c.run(ctx, env, args[len(strings.Fields(c.name)):])
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		for _, c := range commands {
			if c.name == "console" {
				return c.run(ctx, env, args)
			}
		}
	}
	// A group name alone ("dags") lists its subcommands.
	var group []command
	for _, c := range commands {
		if strings.HasPrefix(c.name, args[0]+" ") {
			group = append(group, c)
		}
	}
	if len(group) > 0 {
		fmt.Fprintf(env.stderr, "sluice %s: missing subcommand\n\n", args[0])
		printCommands(env.stderr, group)
		return exitUsage
	}
	fmt.Fprintf(env.stderr, "sluice: unknown command %q (see sluice --help)\n", args[0])
	return exitUnknown
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "sluice — a terminal console for a data platform, and the engine behind it.\n\n")
	fmt.Fprintf(w, "Usage:\n  sluice [command] [flags]\n\nWith no command, sluice opens the console.\n\nCommands:\n")
	printCommands(w, commands)
	fmt.Fprintf(w, "  %-16s %s\n", "version", "print the version")
	fmt.Fprintf(w, "\nRun 'sluice COMMAND --help' for a command's flags.\n")
}

func printCommands(w io.Writer, cs []command) {
	sorted := append([]command(nil), cs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}
