package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/runner"
	"github.com/sluice-dev/sluice/engine/store"
)

func init() {
	register(command{name: "run", summary: "run the engine headless: load DAGs, run the queue and the schedules", run: runEngine})
}

const runUsage = `Usage: sluice run [flags]

Runs the engine without the console (for systemd and the like): the DAG
loader, the run queue, the executor and the cron schedules. Logs go to
stderr as JSON lines. SIGINT or SIGTERM stops it cleanly: running tasks get
SIGTERM, then SIGKILL after --kill-grace; their runs are marked failed
(interrupted) and re-queued when their DAG says retry_on_crash.

State (the SQLite database, run files and task logs) lives in --state-dir;
one engine at a time may use a state dir. 'sluice trigger' and 'sluice runs
list' work on the same state dir while the engine runs.
`

// runSettings are the engine settings of `sluice run`, from flags over the
// environment over defaults.
type runSettings struct {
	stateDir        string
	loader          loader.Config
	maxConcurrent   int
	tagLimits       tagLimitsFlag
	taskParallelism int
	killGrace       time.Duration
	synchronous     string
	lambdaEndpoint  string
	logLevel        slog.Level
}

// addRunFlags registers the engine's flags on fs with the environment's
// values as defaults.
func addRunFlags(fs *flag.FlagSet, env *cliEnv) (*runSettings, error) {
	s := &runSettings{}
	var errs []error
	lc, err := loader.ConfigFromEnv(env.getenv)
	errs = append(errs, err)
	s.loader = lc
	s.maxConcurrent = envInt(env, "SLUICE_MAX_CONCURRENT_RUNS", runner.DefaultMaxConcurrentRuns, &errs)
	s.taskParallelism = envInt(env, "SLUICE_TASK_PARALLELISM", 8, &errs)
	s.killGrace = 10 * time.Second
	if v := env.getenv("SLUICE_KILL_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("SLUICE_KILL_GRACE: %q is not a positive duration", v))
		} else {
			s.killGrace = d
		}
	}
	if v := env.getenv("SLUICE_TAG_LIMITS"); v != "" {
		for _, part := range strings.Split(v, ",") {
			if err := s.tagLimits.Set(strings.TrimSpace(part)); err != nil {
				errs = append(errs, fmt.Errorf("SLUICE_TAG_LIMITS: %w", err))
			}
		}
	}
	s.synchronous = strings.ToUpper(env.getenv("SLUICE_SYNCHRONOUS"))
	if s.synchronous == "" {
		s.synchronous = store.SyncFull
	}
	if v := env.getenv("SLUICE_LOG_LEVEL"); v != "" {
		if err := s.logLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("SLUICE_LOG_LEVEL: %w", err))
		}
	}

	addStateDirFlag(fs, env, &s.stateDir)
	loader.RegisterFlags(fs, &s.loader)
	fs.IntVar(&s.maxConcurrent, "max-concurrent-runs", s.maxConcurrent, "runs running at once, all DAGs together (env SLUICE_MAX_CONCURRENT_RUNS)")
	fs.Var(&s.tagLimits, "tag-limit", "KEY=VALUE:LIMIT caps running runs of DAGs tagged KEY=VALUE (VALUE * caps each value); repeatable (env SLUICE_TAG_LIMITS, comma-separated)")
	fs.IntVar(&s.taskParallelism, "task-parallelism", s.taskParallelism, "tasks of one run running at once (env SLUICE_TASK_PARALLELISM)")
	fs.DurationVar(&s.killGrace, "kill-grace", s.killGrace, "time between SIGTERM and SIGKILL for a task being stopped (env SLUICE_KILL_GRACE)")
	fs.StringVar(&s.synchronous, "synchronous", s.synchronous, "SQLite durability: FULL (fsync every commit) or NORMAL (a power loss may lose the last commits) (env SLUICE_SYNCHRONOUS)")
	fs.StringVar(&s.lambdaEndpoint, "lambda-endpoint", env.getenv("AWS_ENDPOINT_URL_LAMBDA"), "Lambda endpoint URL for lambda tasks, e.g. LocalStack (env AWS_ENDPOINT_URL_LAMBDA)")
	fs.TextVar(&s.logLevel, "log-level", s.logLevel, "debug, info, warn or error (env SLUICE_LOG_LEVEL)")
	return s, errors.Join(errs...)
}

func envInt(env *cliEnv, name string, def int, errs *[]error) int {
	v := strings.TrimSpace(env.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a positive integer", name, v))
		return def
	}
	return n
}

// config turns the settings into an engine.Config.
func (s *runSettings) config(log *slog.Logger) (engine.Config, error) {
	if s.maxConcurrent <= 0 || s.taskParallelism <= 0 || s.killGrace <= 0 {
		return engine.Config{}, errors.New("--max-concurrent-runs, --task-parallelism and --kill-grace must be positive")
	}
	sync := strings.ToUpper(s.synchronous)
	if sync != store.SyncFull && sync != store.SyncNormal {
		return engine.Config{}, fmt.Errorf("--synchronous must be FULL or NORMAL, not %q", s.synchronous)
	}
	return engine.Config{
		StateDir:          s.stateDir,
		Loader:            s.loader,
		MaxConcurrentRuns: s.maxConcurrent,
		TagLimits:         s.tagLimits,
		TaskParallelism:   s.taskParallelism,
		KillGrace:         s.killGrace,
		Lambda:            runner.LambdaConfig{Endpoint: s.lambdaEndpoint},
		Synchronous:       sync,
		Logger:            log,
	}, nil
}

// tagLimitsFlag collects --tag-limit KEY=VALUE:LIMIT.
type tagLimitsFlag []runner.TagLimit

func (f *tagLimitsFlag) String() string {
	if f == nil {
		return ""
	}
	parts := make([]string, len(*f))
	for i, tl := range *f {
		parts[i] = fmt.Sprintf("%s=%s:%d", tl.Key, tl.Value, tl.Limit)
	}
	return strings.Join(parts, ",")
}

func (f *tagLimitsFlag) Set(s string) error {
	kv, limit, ok := strings.Cut(s, ":")
	key, value, ok2 := strings.Cut(kv, "=")
	n, err := strconv.Atoi(limit)
	if !ok || !ok2 || key == "" || value == "" || err != nil || n <= 0 {
		return fmt.Errorf("tag limit %q: want KEY=VALUE:LIMIT with a positive LIMIT", s)
	}
	*f = append(*f, runner.TagLimit{Key: key, Value: value, Limit: n})
	return nil
}

// addStateDirFlag registers --state-dir with its default from the
// environment.
func addStateDirFlag(fs *flag.FlagSet, env *cliEnv, p *string) {
	fs.StringVar(p, "state-dir", store.DefaultStateDir(env.getenv),
		"the engine's state: database, run files, task logs (env SLUICE_STATE_DIR; default $XDG_STATE_HOME/sluice or ~/.local/state/sluice)")
}

// parseCommandFlags parses args for a command taking no positional
// arguments beyond maxArgs; ok false means return code now.
func parseCommandFlags(fs *flag.FlagSet, env *cliEnv, args []string, maxArgs int, envErr error) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(env.stderr, "sluice %s: unexpected argument %q\n", fs.Name(), fs.Arg(maxArgs))
		fs.Usage()
		return exitUsage, false
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", fs.Name(), envErr)
		return exitUsage, false
	}
	return exitOK, true
}

func runEngine(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	settings, envErr := addRunFlags(fs, env)
	fs.Usage = func() {
		fmt.Fprint(env.stderr, runUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if code, ok := parseCommandFlags(fs, env, args, 0, envErr); !ok {
		return code
	}
	log := slog.New(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: settings.logLevel}))
	cfg, err := settings.config(log)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice run: %v\n", err)
		return exitUsage
	}
	eng, err := engine.New(cfg)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice run: %v\n", err)
		if errors.Is(err, store.ErrLocked) {
			return exitFailed
		}
		return exitUsage
	}
	if err := eng.Start(ctx); err != nil {
		eng.Stop()
		if ctx.Err() != nil {
			return exitOK
		}
		fmt.Fprintf(env.stderr, "sluice run: %v\n", err)
		return exitFailed
	}
	<-ctx.Done()
	log.Info("shutting down", "cause", context.Cause(ctx).Error())
	eng.Stop()
	return exitOK
}
