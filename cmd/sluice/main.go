// Command sluice is a terminal console for a data platform, and the engine
// behind it: `sluice` opens the console; subcommands run the engine headless,
// validate DAG files, and script the rest.
package main

import (
	"context"
	"flag"
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
	// harvest, when set, receives a command's flag set in place of parsing
	// (parseArgs): the command tree learns each command's flags this way,
	// for completion, without running anything.
	harvest func(*flag.FlagSet)
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

// dispatch runs the command line args through the command tree (cli.go)
// and returns the exit status.
func dispatch(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			usage(env.stdout)
			return exitOK
		case "--version":
			args = []string{"version"}
		}
	}
	// No command, or flags only: the console.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		args = append([]string{"console"}, args...)
	}
	return execute(ctx, env, args)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "sluice — a terminal console for a data platform, and the engine behind it.\n\n")
	fmt.Fprintf(w, "Usage:\n  sluice [command] [flags]\n\nWith no command, sluice opens the console.\n\nCommands:\n")
	printCommands(w, commands)
	fmt.Fprintf(w, "  %-16s %s\n", "completion", "print a shell completion script: bash, zsh, fish or powershell")
	fmt.Fprintf(w, "  %-16s %s\n", "version", "print the version")
	fmt.Fprintf(w, "\nFlags go before or after a command's arguments. Run 'sluice COMMAND --help' for a command's flags.\n")
}

func printCommands(w io.Writer, cs []command) {
	sorted := append([]command(nil), cs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}
