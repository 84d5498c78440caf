package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/meta/stale"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/store"
)

func init() {
	register(command{name: "config check", summary: "validate the config file and print the effective settings, secrets redacted", run: runConfigCheck})
}

const configCheckUsage = `Usage: sluice config check [--config PATH] [--json] [COMMAND...]

Validates the config file (--config, else SLUICE_CONFIG) against the flags
of the commands that read it — run, serve, console — and prints, for each
COMMAND (default: all three), every setting's effective value and where it
came from: flag, env NAME, file PATH:LINE or default (the value the
command uses; a file key with a bad value is named in the problems and
its setting stays at the default, while the file's other keys still
show). Secrets are never
printed: the secret environment variables are listed as set or unset, and
a known secret value is redacted wherever it would appear.

The file is YAML whose keys are flag names. Top-level keys apply to every
command that has the flag; a section named after a command applies to that
command only and wins over the top level:

  state-dir: /var/lib/sluice
  dags-dir: /etc/sluice/dags
  scan-interval: 30s
  serve:
    ssh: ":2222"
    authorized-keys: /etc/sluice/authorized_keys
    metrics: "127.0.0.1:9464"

Precedence: command line, then environment, then the file, then defaults.
Exit status: 0 valid, 1 the file has problems (each named with file, line
and key), 2 unreadable file or bad usage.
`

// configurable lists the commands that read the config file, each with a
// builder of its flags (a fresh flag set each call): the very function the
// command registers its flags with, so the schema cannot drift.
var configurable = []struct {
	name  string
	flags func(fs *flag.FlagSet, env *cliEnv)
}{
	{"run", func(fs *flag.FlagSet, env *cliEnv) { _, _, _, _ = addRunCommandFlags(fs, env) }},
	{"serve", func(fs *flag.FlagSet, env *cliEnv) { _, _, _, _ = addServeFlags(fs, env) }},
	{"console", func(fs *flag.FlagSet, env *cliEnv) { _, _, _, _ = addConsoleFlags(fs, env) }},
}

// configSchema builds fresh flag sets of every configurable command.
func configSchema(env *cliEnv) config.Schema {
	schema := config.Schema{}
	for _, c := range configurable {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs, env)
		schema[c.name] = fs
	}
	return schema
}

// applyConfigFile loads the config file (--config value, else
// SLUICE_CONFIG; none: nothing to do), checks it against every
// configurable command and applies it under the command line and the
// environment to fs, a parsed flag set of command. ok false means return
// code now. A command adopts the file with Register before parsing and
// this after:
//
//	cfgPath := config.Register(fs)
//	... parse ...
//	if code, ok := applyConfigFile("run", fs, env, *cfgPath, env.stderr); !ok { return code }
func applyConfigFile(command string, fs *flag.FlagSet, env *cliEnv, flagPath string, stderr io.Writer) (code int, ok bool) {
	path := config.Path(flagPath, env.getenv)
	file, err := config.LoadChecked(path, configSchema(env))
	if err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", command, err)
		return configExit(err), false
	}
	if _, err := (config.Resolver{File: file, Getenv: env.getenv, EnvOf: flagEnv}).Apply(command, fs); err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", command, err)
		return exitFailed, false
	}
	return exitOK, true
}

// flagEnv names the environment variables that set a flag: what its usage
// says ("(env NAME)"), plus the few whose variable is said another way.
func flagEnv(fl *flag.Flag) []string {
	switch fl.Name {
	case flags.KafkaPrefix + "sasl-password-file":
		// The password itself comes from the environment: a file setting
		// must not replace it.
		return []string{flags.EnvKafkaSASLPassword}
	case "no-color":
		return []string{"NO_COLOR"}
	}
	return config.EnvVars(fl)
}

func configExit(err error) int {
	var perr *config.Error
	if errors.Is(err, config.ErrInvalid) || errors.As(err, &perr) {
		return exitFailed
	}
	return exitUsage
}

// commandConfig is one command's effective settings, for --json.
type commandConfig struct {
	Command  string           `json:"command"`
	Settings []config.Setting `json:"settings"`
}

type checkReport struct {
	File     string          `json:"file"`
	Valid    bool            `json:"valid"`
	Problems []string        `json:"problems,omitempty"`
	Commands []commandConfig `json:"commands"`
	Secrets  map[string]bool `json:"secrets_set"`
}

func runConfigCheck(_ context.Context, env *cliEnv, args []string) int {
	redactor := config.NewRedactor(config.Secrets(env.getenv)...)
	stdout, stderr := redactor.Writer(env.stdout), redactor.Writer(env.stderr)
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFlag := config.Register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	setUsage(fs, stderr, configCheckUsage)
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	commands := fs.Args()
	if len(commands) == 0 {
		for _, c := range configurable {
			commands = append(commands, c.name)
		}
	}
	schema := configSchema(env)
	for _, c := range commands {
		if _, ok := schema[c]; !ok {
			fmt.Fprintf(stderr, "sluice config check: %q does not read the config file (those that do: run, serve, console)\n", c)
			return exitUsage
		}
	}

	path := config.Path(*cfgFlag, env.getenv)
	report := checkReport{File: path, Valid: true, Secrets: map[string]bool{}}
	var file *config.File
	if path != "" {
		f, err := config.Load(path)
		if err != nil && configExit(err) == exitUsage {
			fmt.Fprintf(stderr, "sluice config check: %v\n", err)
			return exitUsage
		}
		if err == nil {
			file = f
			err = f.Check(schema)
		}
		if err != nil {
			report.Valid = false
			report.Problems = problems(err)
		}
	}
	for _, name := range config.SecretEnv {
		report.Secrets[name] = env.getenv(name) != ""
	}
	for _, c := range commands {
		fs := flag.NewFlagSet(c, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		for _, cc := range configurable {
			if cc.name == c {
				cc.flags(fs, env)
			}
		}
		_ = fs.Parse(nil)
		// The file's keys apply even when some are wrong: the report shows
		// every good key with its value, the bad ones at their defaults
		// with where they are, and the problems above name them.
		checked := report.Valid
		src, err := config.Resolver{File: file, Getenv: env.getenv, EnvOf: flagEnv}.Apply(c, fs)
		if err != nil && checked {
			report.Valid = false
			report.Problems = append(report.Problems, problems(err)...)
		}
		settings := config.Effective(fs, src)
		defaults := zeroDefaults()
		kept := settings[:0]
		for _, s := range settings {
			if s.Name == "store" {
				// A PostgreSQL URL may carry a password.
				s.Value = store.Redact(s.Value)
			}
			if d, ok := defaults[s.Name]; ok && s.Source.Kind == "default" && (s.Value == "" || s.Value == "0") {
				s.Value = d
			}
			if s.Name != "config" {
				kept = append(kept, s)
			}
		}
		report.Commands = append(report.Commands, commandConfig{Command: c, Settings: kept})
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(stderr, "sluice config check: %v\n", err)
			return exitFailed
		}
	} else {
		printReport(stdout, report)
	}
	if !report.Valid {
		fmt.Fprintf(stderr, "sluice config check: %s: %d problem(s)\n", report.File, len(report.Problems))
		return exitFailed
	}
	return exitOK
}

// zeroDefaults are the settings whose zero value stands for a default the
// command fills in later: config check shows that default, the value in
// effect, rather than the zero.
func zeroDefaults() map[string]string {
	const day = 24 * time.Hour
	return map[string]string{
		"max-delete-fraction": fmt.Sprint(review.DefaultMaxDeleteFraction),
		"reconsider-days":     fmt.Sprint(review.DefaultReconsiderDays),
		"quiet-days":          fmt.Sprint(review.DefaultQuietDays),
		"deprecate-mode":      review.DeprecateDisable,
		"stale-days":          fmt.Sprint(int(stale.DefaultRules().NotRunFor / day)),
		"mode-url":            mode.DefaultBaseURL,
		"dbt-bin":             "dbt",
	}
}

func problems(err error) []string {
	var list config.Errors
	if errors.As(err, &list) {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

func printReport(w io.Writer, r checkReport) {
	switch {
	case r.File == "":
		fmt.Fprintf(w, "no config file (--config or %s): settings come from flags, the environment and defaults\n", config.EnvPath)
	case r.Valid:
		fmt.Fprintf(w, "%s: ok\n", r.File)
	default:
		fmt.Fprintf(w, "%s: %d problem(s); the commands would refuse to start:\n", r.File, len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	for _, c := range r.Commands {
		fmt.Fprintf(w, "\n[%s]\n", c.Command)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, s := range c.Settings {
			v := s.Value
			if v == "" {
				v = `""`
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, strings.ReplaceAll(v, "\n", `\n`), s.From)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\n[secrets, from the environment only]\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, name := range config.SecretEnv {
		state := "unset"
		if r.Secrets[name] {
			state = "set " + config.Redacted
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, state)
	}
	tw.Flush()
}

// engineCommands apply the whole config file themselves (applyConfigFile,
// after parsing), with its sources reported by config check.
var engineCommands = map[string]bool{"run": true, "serve": true, "console": true, "status": true}

// storeLocators are the settings that say where the store is. A one-shot
// command that opens the store (trigger, runs, review, dags pause, …) reads
// them from the config file's top level too, so a team that names its
// PostgreSQL store only in sluice.yaml does not get the local SQLite file
// from `sluice trigger` on the same box.
var storeLocators = []string{"store", "state-dir"}

// locateStoreFromConfigFile sets fs's store locators from the top level of
// the config file named by SLUICE_CONFIG, for a parsed one-shot command
// that opens the store, where neither the command line nor the environment
// set them. Commands without a --store flag (demo keeps its own SQLite) and
// the engine commands (they apply the whole file) are left alone.
func locateStoreFromConfigFile(fs *flag.FlagSet, env *cliEnv) error {
	if engineCommands[fs.Name()] || fs.Lookup("store") == nil {
		return nil
	}
	path := config.Path("", env.getenv)
	if path == "" {
		return nil
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	// The locators the command line left, sharing fs's values: the file
	// applies to them under the environment as to an engine command.
	locators := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	for _, name := range storeLocators {
		if fl := fs.Lookup(name); fl != nil && !onCommandLine[name] {
			locators.Var(fl.Value, name, fl.Usage)
		}
	}
	left := 0
	locators.VisitAll(func(*flag.Flag) { left++ })
	if left == 0 {
		return nil
	}
	file, err := config.Load(path)
	if err != nil {
		return fmt.Errorf("%w (%s names it)", err, config.EnvPath)
	}
	_, err = config.Resolver{File: file, Getenv: env.getenv, EnvOf: flagEnv}.Apply("", locators)
	return err
}
