package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/cmd/internal/flags"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/metrics"
	"github.com/sluice-dev/sluice/engine/notify"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/runner"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/storeopen"
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

Kafka sensors of the DAGs consume from --kafka-brokers (SLUICE_KAFKA_BROKERS);
without brokers they are listed with that reason and do not run. The
metapipeline (the built-in DAG 'metapipeline') needs --manifest
(DBT_MANIFEST); --mode-workspace adds Mode (MODE_TOKEN and MODE_SECRET from
the environment only), --repo the dbt repository its review branches are
built from and pushed to (GITHUB_TOKEN for pushes and pull requests).

--metrics serves Prometheus metrics at http://ADDR/metrics.

Settings come from flags, then the environment, then the config file
(--config or SLUICE_CONFIG; see 'sluice config check'), then defaults.
Known secrets are redacted from everything it prints.
`

// runSettings are the engine settings of `sluice run`, from flags over the
// environment over defaults.
type runSettings struct {
	stateDir        string
	store           string
	lease           time.Duration
	pollInterval    time.Duration
	missingGrace    time.Duration
	keepVersions    int
	loader          loader.Config
	maxConcurrent   int
	tagLimits       tagLimitsFlag
	taskParallelism int
	killGrace       time.Duration
	synchronous     string
	lambdaEndpoint  string
	logLevel        slog.Level

	kafka  sensor.ConnConfig
	meta   engine.MetaConfig
	review review.Config
	notify notify.Config
}

// addRunFlags registers the engine's flags on fs with the environment's
// values as defaults.
func addRunFlags(fs *flag.FlagSet, env *cliEnv) (*runSettings, error) {
	s := &runSettings{}
	var errs []error
	lc, err := flags.LoaderFromEnv(env.getenv)
	errs = append(errs, err)
	s.loader = lc
	s.maxConcurrent = envInt(env, "SLUICE_MAX_CONCURRENT_RUNS", runner.DefaultMaxConcurrentRuns, &errs)
	s.taskParallelism = envInt(env, "SLUICE_TASK_PARALLELISM", 8, &errs)
	s.keepVersions = envInt(env, "SLUICE_KEEP_VERSIONS", api.DefaultKeepVersions, &errs)
	s.killGrace = envDuration(env, "SLUICE_KILL_GRACE", 10*time.Second, &errs)
	s.lease = envDuration(env, "SLUICE_LEASE", 30*time.Second, &errs)
	s.pollInterval = envDuration(env, "SLUICE_POLL_INTERVAL", 250*time.Millisecond, &errs)
	s.missingGrace = envDuration(env, "SLUICE_MISSING_DAG_GRACE", 5*time.Minute, &errs)
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
	addStoreFlag(fs, env, &s.store)
	fs.DurationVar(&s.lease, "lease", s.lease, "with a shared --store: how old another instance's heartbeat may get before its runs are taken over (env SLUICE_LEASE)")
	fs.DurationVar(&s.pollInterval, "poll-interval", s.pollInterval, "how often the store is read for runs other processes queued (env SLUICE_POLL_INTERVAL)")
	fs.DurationVar(&s.missingGrace, "missing-dag-grace", s.missingGrace, "how long a queued run whose DAG file is missing, and whose version is not stored, waits for the file before it fails (env SLUICE_MISSING_DAG_GRACE)")
	fs.IntVar(&s.keepVersions, "keep-versions", s.keepVersions, "versions of each DAG kept in the store, newest seen first; a pinned one, and one a queued or running run runs, is kept besides (env SLUICE_KEEP_VERSIONS)")
	flags.RegisterLoader(fs, &s.loader)
	fs.IntVar(&s.maxConcurrent, "max-concurrent-runs", s.maxConcurrent, "runs running at once, all DAGs together (env SLUICE_MAX_CONCURRENT_RUNS)")
	fs.Var(&s.tagLimits, "tag-limit", "KEY=VALUE:LIMIT caps running runs of DAGs tagged KEY=VALUE (VALUE * caps each value); repeatable (env SLUICE_TAG_LIMITS, comma-separated)")
	fs.IntVar(&s.taskParallelism, "task-parallelism", s.taskParallelism, "tasks of one run running at once (env SLUICE_TASK_PARALLELISM)")
	fs.DurationVar(&s.killGrace, "kill-grace", s.killGrace, "time between SIGTERM and SIGKILL for a task being stopped (env SLUICE_KILL_GRACE)")
	fs.StringVar(&s.synchronous, "synchronous", s.synchronous, "SQLite durability: FULL (fsync every commit) or NORMAL (a power loss may lose the last commits) (env SLUICE_SYNCHRONOUS)")
	fs.StringVar(&s.lambdaEndpoint, "lambda-endpoint", env.getenv("AWS_ENDPOINT_URL_LAMBDA"), "Lambda endpoint URL for lambda tasks, e.g. LocalStack (env AWS_ENDPOINT_URL_LAMBDA)")
	fs.TextVar(&s.logLevel, "log-level", s.logLevel, "debug, info, warn or error (env SLUICE_LOG_LEVEL)")
	errs = append(errs, s.addPartFlags(fs, env))
	return s, errors.Join(errs...)
}

// addPartFlags registers the settings of the Kafka sensors, the
// metapipeline and the review flow. Secrets (the SASL password, the Mode
// credentials, the GitHub token) come from the environment only.
func (s *runSettings) addPartFlags(fs *flag.FlagSet, env *cliEnv) error {
	var errs []error
	kc, err := flags.KafkaFromEnv(env.getenv)
	errs = append(errs, err)
	s.kafka = kc
	flags.RegisterKafka(fs, &s.kafka, flags.KafkaPrefix)

	mc, err := flags.MetaFromEnv(env.getenv)
	errs = append(errs, err)
	s.meta = engine.MetaConfig{
		Config:     mc,
		Schedule:   env.getenv("SLUICE_META_SCHEDULE"),
		ModeToken:  env.getenv(mode.EnvToken),
		ModeSecret: env.getenv(mode.EnvSecret),
	}
	flags.RegisterMeta(fs, &s.meta.Config)
	fs.StringVar(&s.meta.Schedule, "meta-schedule", s.meta.Schedule, "cron schedule of the metapipeline; empty: only when asked, m in the console (env SLUICE_META_SCHEDULE)")

	rc, err := flags.ReviewFromEnv(env.getenv)
	errs = append(errs, err)
	s.review = rc
	flags.RegisterReview(fs, &s.review)
	nc, err := flags.NotifyFromEnv(env.getenv)
	errs = append(errs, err)
	s.notify = nc
	flags.RegisterNotify(fs, &s.notify)
	// Here every flag says its variable, so a config file ranks under the
	// environment for these as for the others.
	flags.NameReviewEnv(fs)
	return errors.Join(errs...)
}

// partsConfig checks the Kafka, metapipeline and review settings before
// the engine starts, so a mistake is a usage error rather than a log line.
func (s *runSettings) partsConfig() error {
	if len(s.kafka.Brokers) > 0 {
		if err := s.kafka.Validate(); err != nil {
			return err
		}
	}
	if s.meta.ModeURL != "" && s.meta.ModeWorkspace == "" {
		return errors.New("--mode-url needs --mode-workspace")
	}
	if s.meta.ModeWorkspace != "" && (s.meta.ModeToken == "" || s.meta.ModeSecret == "") {
		return fmt.Errorf("--mode-workspace needs the Mode credentials in %s and %s", mode.EnvToken, mode.EnvSecret)
	}
	if s.meta.StaleAfterDays < 0 {
		return errors.New("--stale-days must not be negative")
	}
	return nil
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

// envDuration reads a positive duration from the environment, def when
// unset; a bad value is an error in errs.
func envDuration(env *cliEnv, name string, def time.Duration, errs *[]error) time.Duration {
	v := strings.TrimSpace(env.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a positive duration", name, v))
		return def
	}
	return d
}

// config turns the settings into an engine.Config.
func (s *runSettings) config(log *slog.Logger) (engine.Config, error) {
	if s.maxConcurrent <= 0 || s.taskParallelism <= 0 || s.killGrace <= 0 || s.keepVersions <= 0 {
		return engine.Config{}, errors.New("--max-concurrent-runs, --task-parallelism, --kill-grace and --keep-versions must be positive")
	}
	sync := strings.ToUpper(s.synchronous)
	if sync != store.SyncFull && sync != store.SyncNormal {
		return engine.Config{}, fmt.Errorf("--synchronous must be FULL or NORMAL, not %q", s.synchronous)
	}
	if err := s.partsConfig(); err != nil {
		return engine.Config{}, err
	}
	if s.lease <= 0 || s.pollInterval <= 0 || s.missingGrace <= 0 {
		return engine.Config{}, errors.New("--lease, --poll-interval and --missing-dag-grace must be positive")
	}
	if _, err := storeopen.Kind(s.store); err != nil {
		return engine.Config{}, err
	}
	nc, err := flags.NotifyConfig(s.notify)
	if err != nil {
		return engine.Config{}, err
	}
	return engine.Config{
		StateDir:          s.stateDir,
		Store:             s.store,
		Lease:             s.lease,
		PollInterval:      s.pollInterval,
		MissingDAGGrace:   s.missingGrace,
		KeepVersions:      s.keepVersions,
		Loader:            s.loader,
		MaxConcurrentRuns: s.maxConcurrent,
		TagLimits:         s.tagLimits,
		TaskParallelism:   s.taskParallelism,
		KillGrace:         s.killGrace,
		Lambda:            runner.LambdaConfig{Endpoint: s.lambdaEndpoint},
		Synchronous:       sync,
		Logger:            log,
		Kafka:             s.kafka,
		Meta:              s.meta,
		Review:            s.review,
		Notify:            nc,
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

// addStoreFlag registers --store with its default from the environment.
// The usage shows that default with its password redacted: -h (and the
// usage a bad flag prints) never shows the password of SLUICE_STORE.
func addStoreFlag(fs *flag.FlagSet, env *cliEnv, p *string) {
	fs.StringVar(p, "store", env.getenv("SLUICE_STORE"),
		"the store: empty for the SQLite file in --state-dir, or postgres://user@host:port/db?sslmode=… for a database several instances share (env SLUICE_STORE; password from the URL, PGPASSWORD or ~/.pgpass)")
	fl := fs.Lookup("store")
	fl.DefValue = store.Redact(fl.DefValue)
}

// addStateDirFlag registers --state-dir with its default from the
// environment.
func addStateDirFlag(fs *flag.FlagSet, env *cliEnv, p *string) {
	fs.StringVar(p, "state-dir", flags.DefaultStateDir(env.getenv),
		"the engine's state: database, run files, task logs (env SLUICE_STATE_DIR; default $XDG_STATE_HOME/sluice or ~/.local/state/sluice)")
}

// setUsage makes fs's -h print usage, then the flags, to w.
func setUsage(fs *flag.FlagSet, w io.Writer, usage string) {
	fs.Usage = func() {
		fmt.Fprint(w, usage+"\nFlags:\n")
		fs.PrintDefaults()
	}
}

// parseCommandFlags parses args for a command taking no positional
// arguments beyond maxArgs; ok false means return code now.
func parseCommandFlags(fs *flag.FlagSet, env *cliEnv, args []string, maxArgs int, envErr error) (code int, ok bool) {
	if err := parseArgs(env, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(env.stderr, "sluice %s: unexpected argument %q\n", fs.Name(), fs.Arg(maxArgs))
		seeHelp(env.stderr, fs)
		return exitUsage, false
	}
	if envErr != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", fs.Name(), envErr)
		return exitUsage, false
	}
	return exitOK, true
}

// parseEngineFlags parses the flags of an engine command (run, serve,
// console): its usage text, the command line, then the config file for what
// neither the command line nor the environment set.
func parseEngineFlags(name, usage string, fs *flag.FlagSet, env *cliEnv, args []string, cfgPath *string, envErr error) (code int, ok bool) {
	fs.SetOutput(env.stderr)
	setUsage(fs, env.stderr, usage)
	if code, ok := parseCommandFlags(fs, env, args, 0, envErr); !ok {
		return code, false
	}
	return applyConfigFile(name, fs, env, *cfgPath, env.stderr)
}

// redactedEnv is env whose stderr passes a redactor of the environment's
// secrets: a library quoting a credential in an error or log line still
// prints nothing secret.
func redactedEnv(env *cliEnv) (*cliEnv, *config.Redactor) {
	redactor := config.NewRedactor(config.Secrets(env.getenv)...)
	return &cliEnv{stdout: env.stdout, stderr: redactor.Writer(env.stderr), stdin: env.stdin, getenv: env.getenv, harvest: env.harvest}, redactor
}

// addRunCommandFlags registers every flag of `sluice run`: the engine's,
// --metrics and --config. The config schema builds run's flags with it too.
func addRunCommandFlags(fs *flag.FlagSet, env *cliEnv) (settings *runSettings, metricsAddr, cfgPath *string, err error) {
	settings, err = addRunFlags(fs, env)
	metricsAddr = new(string)
	addMetricsFlag(fs, env, metricsAddr)
	return settings, metricsAddr, config.Register(fs), err
}

func runEngine(ctx context.Context, env *cliEnv, args []string) int {
	env, _ = redactedEnv(env)
	stderr := env.stderr
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	settings, metricsAddr, cfgPath, envErr := addRunCommandFlags(fs, env)
	if code, ok := parseEngineFlags("run", runUsage, fs, env, args, cfgPath, envErr); !ok {
		return code
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: settings.logLevel}))
	cfg, err := settings.config(log)
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return exitUsage
	}
	eng, err := engine.Open(ctx, engine.Options{Config: cfg})
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
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
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return exitFailed
	}
	stopMetrics, err := metrics.Serve(ctx, *metricsAddr, eng, log)
	if err != nil {
		eng.Stop()
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return exitUsage
	}
	<-ctx.Done()
	log.Info("shutting down", "cause", context.Cause(ctx).Error())
	stopMetrics()
	eng.Stop()
	return exitOK
}
