package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// execute builds the cobra command tree from the registered commands and
// runs args through it. Each command parses its own flags (parseArgs), so
// that they keep Go's flag syntax (-flag and --flag) and the config file
// sees which were given; cobra finds the command, completes, and helps.
func execute(ctx context.Context, env *cliEnv, args []string) int {
	code := exitOK
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "a terminal console for a data platform, and the engine behind it",
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version,
	}
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if c == root {
			usage(env.stdout)
			return
		}
		fmt.Fprintf(env.stderr, "sluice %s: missing subcommand\n\n", c.Name())
		code = exitUsage
	})
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintf(env.stdout, "sluice %s\n", version) },
	})
	groups := map[string]*cobra.Command{}
	for _, c := range commands {
		parent := root
		words := strings.Fields(c.name)
		if len(words) == 2 {
			if groups[words[0]] == nil {
				groups[words[0]] = newGroup(env, words[0], &code)
				root.AddCommand(groups[words[0]])
			}
			parent = groups[words[0]]
		}
		parent.AddCommand(newLeaf(ctx, env, c, words[len(words)-1], &code))
	}
	// cobra's completion command, made now to word its usage errors: a
	// shell it has no script for is named, not "missing subcommand".
	root.InitDefaultCompletionCmd(args...)
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.Run = func(_ *cobra.Command, args []string) {
			const shells = "bash, zsh, fish or powershell"
			if len(args) == 0 {
				fmt.Fprintf(env.stderr, "sluice completion: name a shell: %s\n", shells)
			} else {
				fmt.Fprintf(env.stderr, "sluice completion: no completion script for %q; shells: %s\n", args[0], shells)
			}
			code = exitUsage
		}
	}
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		if strings.HasPrefix(err.Error(), "unknown command") {
			err = fmt.Errorf("unknown command %q", args[0])
		}
		fmt.Fprintf(env.stderr, "sluice: %v (see sluice --help)\n", err)
		return exitUnknown
	}
	return code
}

// newGroup is a command that only holds others ("dags"): alone, it lists
// them and fails as a usage error.
func newGroup(env *cliEnv, name string, code *int) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: "commands: sluice " + name + " …",
		Run: func(*cobra.Command, []string) {
			var group []command
			for _, c := range commands {
				if strings.HasPrefix(c.name, name+" ") {
					group = append(group, c)
				}
			}
			fmt.Fprintf(env.stderr, "sluice %s: missing subcommand\n\n", name)
			printCommands(env.stderr, group)
			*code = exitUsage
		},
	}
}

// newLeaf wraps a registered command. Its flags are harvested once, for
// cobra's completion of flag names; parsing them is the command's own.
func newLeaf(ctx context.Context, env *cliEnv, c command, use string, code *int) *cobra.Command {
	fs := flagsOf(ctx, env, c)
	leaf := &cobra.Command{
		Use:                use,
		Short:              c.summary,
		DisableFlagParsing: true,
		Run: func(_ *cobra.Command, args []string) {
			*code = c.run(ctx, env, args)
		},
	}
	if fs != nil {
		leaf.Flags().AddGoFlagSet(fs)
	}
	leaf.SetHelpFunc(func(*cobra.Command, []string) { *code = c.run(ctx, env, []string{"--help"}) })
	return leaf
}

// flagsOf asks a command for its flag set without running it.
func flagsOf(ctx context.Context, env *cliEnv, c command) *flag.FlagSet {
	var fs *flag.FlagSet
	c.run(ctx, &cliEnv{stdout: io.Discard, stderr: io.Discard, stdin: env.stdin, getenv: env.getenv,
		harvest: func(f *flag.FlagSet) { fs = f }}, nil)
	return fs
}

// parseArgs parses a command's arguments with its flag set: flags may come
// before or after the positional arguments (everything after "--" is
// positional), as with any Go command-line tool built on cobra. Under
// harvest it hands fs over instead and reports flag.ErrHelp, so the
// command returns before doing anything.
func parseArgs(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if env.harvest != nil {
		env.harvest(fs)
		return flag.ErrHelp
	}
	// The flag package prints the error and the whole usage on a bad
	// flag; a mistake deserves one line and where to look.
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(permuteArgs(fs, args))
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		if usage != nil {
			usage()
		} else {
			fmt.Fprintf(out, "Usage of sluice %s:\n", fs.Name())
			fs.PrintDefaults()
		}
	case err != nil:
		fmt.Fprintf(out, "sluice %s: %v\n", fs.Name(), err)
		seeHelp(out, fs)
	default:
		if err = locateStoreFromConfigFile(fs, env); err != nil {
			fmt.Fprintf(env.stderr, "sluice %s: %v\n", fs.Name(), err)
		}
	}
	return err
}

// seeHelp follows a usage error: where the command's usage is, instead of
// all of it.
func seeHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Run 'sluice %s --help' for usage.\n", fs.Name())
}

// permuteArgs moves the flags (with their values) in front of the
// positional arguments, which follow a "--".
func permuteArgs(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			// A value flag with nothing after it: left last, Parse says
			// it needs an argument (in front of "--" it would take that).
			return flags
		}
		i++
		flags = append(flags, args[i])
	}
	if len(positional) == 0 {
		return flags
	}
	return append(append(flags, "--"), positional...)
}
