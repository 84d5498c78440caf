package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/tui"
	"github.com/sluice-dev/sluice/views/styles"
)

func init() {
	register(command{name: "console", summary: "open the console on an in-process engine (the default command)", run: runConsole})
}

const consoleUsage = `Usage: sluice [console] [flags]

Opens the console: the engine starts in this process (loader, scheduler,
run queue, sensors) and the screen shows it live — the DAG tree, the run
queue, Kafka lag, the review pane and the engine's logs. Quitting stops the
engine cleanly; with runs in flight the console asks first.

Keys: tab/shift+tab or 1-4 switch panes, 5 or L the logs, j/k move, / filters,
enter opens details, esc goes back, r rescans the sources, t triggers the
selected DAG, c cancels the selected run, ? shows every key, q quits.

While the console owns the terminal nothing else writes to it: logs go to
the logs pane and to a file (--log-file, default STATE_DIR/console.log).
NO_COLOR=1 (or --no-color) renders without colour; meaning never depends on
colour.

Settings come from flags, then the environment, then the config file
(--config or SLUICE_CONFIG; see 'sluice config check'), then defaults.
`

// consoleEngine is what the console needs of an engine: the API the
// screen drives, and a lifecycle the command owns.
type consoleEngine interface {
	api.API
	Start(ctx context.Context) error
	Stop()
}

// consoleRun is everything openConsole needs, whichever command built it.
type consoleRun struct {
	name      string // command name, for messages
	logPath   string
	logLevel  slog.Level
	noColor   bool
	newEngine func(log *slog.Logger) (consoleEngine, error)
	// started, when set, runs once the engine has started (the demo uses
	// it to queue first runs so the screen moves at once).
	started func(ctx context.Context, api api.API, log *slog.Logger)
}

// consoleFlags are the console's own flags, beyond the engine's.
type consoleFlags struct {
	logFile string
	noColor bool
}

// addConsoleFlags registers every flag of `sluice console`: the engine's,
// its own and --config. The config schema builds console's flags with it too.
func addConsoleFlags(fs *flag.FlagSet, env *cliEnv) (*runSettings, *consoleFlags, *string, error) {
	settings, err := addRunFlags(fs, env)
	c := &consoleFlags{}
	fs.StringVar(&c.logFile, "log-file", "", "write the engine's log here (default STATE_DIR/console.log)")
	fs.BoolVar(&c.noColor, "no-color", false, "render without colour (also NO_COLOR=1)")
	return settings, c, config.Register(fs), err
}

func runConsole(ctx context.Context, env *cliEnv, args []string) int {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	settings, own, cfgPath, err := addConsoleFlags(fs, env)
	if code, ok := parseEngineFlags("console", consoleUsage, fs, env, args, cfgPath, err); !ok {
		return code
	}
	logFile, noColor := &own.logFile, &own.noColor
	path := *logFile
	if path == "" {
		path = filepath.Join(settings.stateDir, "console.log")
	}
	return openConsole(ctx, env, consoleRun{
		name:     "console",
		logPath:  path,
		logLevel: settings.logLevel,
		noColor:  *noColor,
		newEngine: func(log *slog.Logger) (consoleEngine, error) {
			cfg, err := settings.config(log)
			if err != nil {
				return nil, err
			}
			return engine.Open(ctx, engine.Options{Config: cfg})
		},
	})
}

// openConsole starts the engine, hands the terminal to the console until
// the user quits, then stops the engine. Logging goes to a file and the
// logs pane only: the terminal belongs to the console.
func openConsole(ctx context.Context, env *cliEnv, run consoleRun) int {
	in, inOK := env.stdin.(*os.File)
	out, outOK := env.stdout.(*os.File)
	if !inOK || !outOK || !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		fmt.Fprintf(env.stderr, "sluice %s: the console needs a terminal; run the engine headless with `sluice run`\n", run.name)
		return exitUsage
	}
	if err := os.MkdirAll(filepath.Dir(run.logPath), 0o755); err != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", run.name, err)
		return exitUsage
	}
	logFile, err := os.OpenFile(run.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice %s: opening the log file: %v\n", run.name, err)
		return exitUsage
	}
	defer logFile.Close()
	fileLog := slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: run.logLevel})

	eng, err := run.newEngine(slog.New(fileLog))
	if err != nil {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", run.name, err)
		if errors.Is(err, store.ErrLocked) {
			return exitFailed
		}
		return exitUsage
	}
	// Whatever still logs through the standard library or slog's default
	// (third-party code) goes where the engine logs — the file and the
	// logs pane — never on the screen.
	prevDefault := slog.Default()
	defaultLog := slog.New(fileLog)
	if l, ok := eng.(interface{ Logger() *slog.Logger }); ok {
		defaultLog = l.Logger()
	}
	slog.SetDefault(defaultLog)
	defer slog.SetDefault(prevDefault)

	engCtx, cancelEngine := context.WithCancel(ctx)
	defer cancelEngine()
	if err := eng.Start(engCtx); err != nil {
		eng.Stop()
		fmt.Fprintf(env.stderr, "sluice %s: starting the engine: %v (log: %s)\n", run.name, err, run.logPath)
		return exitFailed
	}

	if run.started != nil {
		run.started(engCtx, eng, slog.New(fileLog))
	}

	noColor := run.noColor || styles.NoColorRequested(env.getenv)
	if noColor {
		lipgloss.SetColorProfile(termenv.Ascii)
	} else {
		// Ask the terminal for its background now: asked lazily, from the
		// first frame, its answer would race Bubble Tea for the input and
		// could swallow keystrokes.
		lipgloss.SetHasDarkBackground(lipgloss.HasDarkBackground())
	}
	uiCtx, cancelUI := context.WithCancel(ctx)
	// The local operator's editor for T's run config; a session over SSH
	// (sluice serve) never gets one.
	editor := env.getenv("VISUAL")
	if editor == "" {
		editor = env.getenv("EDITOR")
	}
	model := tui.New(uiCtx, eng, tui.Options{Styles: styles.New(nil), Editor: editor})
	p := tea.NewProgram(model, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, runErr := p.Run()
	cancelUI()
	model.Close()

	fmt.Fprintf(env.stderr, "stopping the engine…\n")
	cancelEngine()
	eng.Stop()
	fmt.Fprintf(env.stderr, "engine stopped; log: %s\n", run.logPath)
	if runErr != nil && !errors.Is(runErr, tea.ErrProgramKilled) && !errors.Is(runErr, context.Canceled) {
		fmt.Fprintf(env.stderr, "sluice %s: %v\n", run.name, runErr)
		return exitFailed
	}
	return exitOK
}
