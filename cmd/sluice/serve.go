package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice/cmd/internal/config"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/metrics"
	"github.com/sluice-dev/sluice/engine/store"
)

func init() {
	register(command{name: "serve", summary: "run the engine once and serve the console over SSH to every operator", run: runServe})
}

const serveUsage = `Usage: sluice serve [--ssh ADDR --authorized-keys PATH [--host-key PATH]] [--metrics ADDR] [flags]

Runs the engine once for the whole team and serves the console over SSH:
each operator runs 'ssh -t -p PORT HOST' and gets a console of their own
(own size, focus and filters) over the one shared engine. Sessions come and
go without touching the engine. Without --ssh, serve is the headless engine,
exactly like 'sluice run'.

Only public keys listed in --authorized-keys may log in (OpenSSH format). A
key may carry a role as an option in front of it:

  role=viewer ssh-ed25519 AAAAC3Nz... victor@wall-display
  environment="SLUICE_ROLE=operator" ssh-ed25519 AAAAC3Nz... olga@laptop

An operator may do everything; a viewer sees everything but may not
trigger, cancel, run the metapipeline, approve, reject or pause — the
engine refuses, whatever keys are typed, and the console says why. Keys
without a role get --ssh-default-role. The file is re-read when it changes:
adding or revoking a key needs no restart. The host key is generated
(ed25519) at --host-key when absent.

Connections are bounded so that sockets opened by anyone who can reach the
port never starve the engine of file descriptors: --ssh-handshake-timeout
(10s) to log in, --ssh-max-unauthenticated (32) not logged in yet,
--ssh-max-connections (256) in all, --ssh-max-per-source (16) from one IP
address; a connection past a cap is closed at once. --ssh-idle-timeout (1h)
closes a connection without traffic either way (a console that redraws
its times is traffic; a client that vanished is not).

--metrics serves Prometheus metrics at http://ADDR/metrics.

Settings come from flags, then the environment, then the config file
(--config or SLUICE_CONFIG; see 'sluice config check'), then defaults.
Logs go to stderr as JSON lines, with known secrets redacted.
`

// serveSettings are serve's own flags, beyond the engine's.
type serveSettings struct {
	sshAddr        string
	hostKey        string
	authorizedKeys string
	defaultRole    string
	metricsAddr    string
	idleTimeout    time.Duration
	limits         sshserve.Limits
}

// addServeFlags registers the engine's flags, serve's own and --config,
// with the environment's values as defaults.
func addServeFlags(fs *flag.FlagSet, env *cliEnv) (*runSettings, *serveSettings, *string, error) {
	run, err := addRunFlags(fs, env)
	errs := []error{err}
	s := &serveSettings{defaultRole: string(access.Operator)}
	if v := env.getenv("SLUICE_SSH_DEFAULT_ROLE"); v != "" {
		s.defaultRole = v
	}
	fs.StringVar(&s.sshAddr, "ssh", env.getenv("SLUICE_SSH_ADDR"), "serve the console over SSH on ADDR, e.g. :2222; none: headless (env SLUICE_SSH_ADDR)")
	fs.StringVar(&s.hostKey, "host-key", env.getenv("SLUICE_SSH_HOST_KEY"), "SSH host private key, generated when absent (default STATE_DIR/ssh_host_ed25519) (env SLUICE_SSH_HOST_KEY)")
	fs.StringVar(&s.authorizedKeys, "authorized-keys", env.getenv("SLUICE_SSH_AUTHORIZED_KEYS"), "public keys allowed to log in, OpenSSH format, each optionally with role=operator|viewer; required with --ssh (env SLUICE_SSH_AUTHORIZED_KEYS)")
	fs.StringVar(&s.defaultRole, "ssh-default-role", s.defaultRole, "role of a key that names none: operator or viewer (env SLUICE_SSH_DEFAULT_ROLE)")
	addSSHLimitFlags(fs, env, s, &errs)
	addMetricsFlag(fs, env, &s.metricsAddr)
	return run, s, config.Register(fs), errors.Join(errs...)
}

// addSSHLimitFlags registers the bounds of the SSH server: what a
// connection may hold before and after it logs in.
func addSSHLimitFlags(fs *flag.FlagSet, env *cliEnv, s *serveSettings, errs *[]error) {
	d := sshserve.DefaultLimits
	s.idleTimeout = envDuration(env, "SLUICE_SSH_IDLE_TIMEOUT", sshserve.DefaultIdleTimeout, errs)
	s.limits.HandshakeTimeout = envDuration(env, "SLUICE_SSH_HANDSHAKE_TIMEOUT", d.HandshakeTimeout, errs)
	s.limits.MaxConnections = envInt(env, "SLUICE_SSH_MAX_CONNECTIONS", d.MaxConnections, errs)
	s.limits.MaxUnauthenticated = envInt(env, "SLUICE_SSH_MAX_UNAUTHENTICATED", d.MaxUnauthenticated, errs)
	s.limits.MaxPerSource = envInt(env, "SLUICE_SSH_MAX_PER_SOURCE", d.MaxPerSource, errs)
	fs.DurationVar(&s.idleTimeout, "ssh-idle-timeout", s.idleTimeout, "close an SSH connection after this long without traffic either way (a console that redraws is traffic) (env SLUICE_SSH_IDLE_TIMEOUT)")
	fs.DurationVar(&s.limits.HandshakeTimeout, "ssh-handshake-timeout", s.limits.HandshakeTimeout, "close an SSH connection not logged in this long after it opened (env SLUICE_SSH_HANDSHAKE_TIMEOUT)")
	fs.IntVar(&s.limits.MaxConnections, "ssh-max-connections", s.limits.MaxConnections, "SSH connections open at once, logged in or not; more are closed at once (env SLUICE_SSH_MAX_CONNECTIONS)")
	fs.IntVar(&s.limits.MaxUnauthenticated, "ssh-max-unauthenticated", s.limits.MaxUnauthenticated, "SSH connections not logged in yet, at once (env SLUICE_SSH_MAX_UNAUTHENTICATED)")
	fs.IntVar(&s.limits.MaxPerSource, "ssh-max-per-source", s.limits.MaxPerSource, "SSH connections from one IP address, at once (env SLUICE_SSH_MAX_PER_SOURCE)")
}

// check refuses limits that would turn a bound off: zero is not "none".
func (s *serveSettings) check() error {
	switch {
	case s.idleTimeout <= 0:
		return errors.New("--ssh-idle-timeout must be positive")
	case s.limits.HandshakeTimeout <= 0:
		return errors.New("--ssh-handshake-timeout must be positive")
	case s.limits.MaxConnections <= 0, s.limits.MaxUnauthenticated <= 0, s.limits.MaxPerSource <= 0:
		return errors.New("--ssh-max-connections, --ssh-max-unauthenticated and --ssh-max-per-source must be positive")
	}
	return nil
}

// addMetricsFlag registers --metrics; `sluice run` takes it the same way.
func addMetricsFlag(fs *flag.FlagSet, env *cliEnv, p *string) {
	fs.StringVar(p, "metrics", env.getenv("SLUICE_METRICS_ADDR"), "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9464 (env SLUICE_METRICS_ADDR)")
}

func runServe(ctx context.Context, env *cliEnv, args []string) int {
	// Everything this command prints, and every session shows, passes the
	// redactor of the environment's secrets.
	env, redactor := redactedEnv(env)
	stderr := env.stderr
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	settings, serve, cfgPath, envErr := addServeFlags(fs, env)
	if code, ok := parseEngineFlags("serve", serveUsage, fs, env, args, cfgPath, envErr); !ok {
		return code
	}

	role, err := access.ParseRole(serve.defaultRole)
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: --ssh-default-role: %v\n", err)
		return exitUsage
	}
	if err := serve.check(); err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return exitUsage
	}
	if serve.sshAddr != "" && serve.authorizedKeys == "" {
		fmt.Fprintf(stderr, "sluice serve: --ssh needs --authorized-keys: only listed keys may log in\n")
		return exitUsage
	}
	if serve.hostKey == "" {
		serve.hostKey = filepath.Join(settings.stateDir, "ssh_host_ed25519")
	}

	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: settings.logLevel}))
	cfg, err := settings.config(log)
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return exitUsage
	}
	eng, err := engine.Open(ctx, engine.Options{Config: cfg})
	if err != nil {
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		if errors.Is(err, store.ErrLocked) {
			return exitFailed
		}
		return exitUsage
	}
	return serveEngine(ctx, stderr, eng, log, serve, role, redactor)
}

// servedEngine is what serve needs of the engine.
type servedEngine interface {
	api.API
	Start(ctx context.Context) error
	Stop()
}

// serveEngine runs eng with its front ends until ctx ends: the SSH server
// (when configured) and the metrics listener. It owns eng from here on.
func serveEngine(ctx context.Context, stderr io.Writer, eng servedEngine, log *slog.Logger, serve *serveSettings, role access.Role, redactor *config.Redactor) int {
	var ssh *sshserve.Server
	if serve.sshAddr != "" {
		var err error
		ssh, err = sshserve.New(sshserve.Config{
			Addr:               serve.sshAddr,
			HostKeyPath:        serve.hostKey,
			AuthorizedKeysPath: serve.authorizedKeys,
			DefaultRole:        role,
			API:                config.RedactAPI(eng, redactor),
			Logger:             log,
			IdleTimeout:        serve.idleTimeout,
			Limits:             serve.limits,
		})
		if err != nil {
			eng.Stop()
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			return exitUsage
		}
	}
	if err := eng.Start(ctx); err != nil {
		eng.Stop()
		if ctx.Err() != nil {
			return exitOK
		}
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return exitFailed
	}
	stopMetrics, err := metrics.Serve(ctx, serve.metricsAddr, eng, log)
	if err != nil {
		eng.Stop()
		fmt.Fprintf(stderr, "sluice serve: %v\n", err)
		return exitUsage
	}
	if ssh != nil {
		if err := ssh.Start(ctx); err != nil {
			stopMetrics()
			eng.Stop()
			fmt.Fprintf(stderr, "sluice serve: %v\n", err)
			return exitUsage
		}
	}
	<-ctx.Done()
	log.Info("shutting down", "cause", context.Cause(ctx).Error())
	// Front ends first, so no console acts on an engine that is stopping.
	if ssh != nil {
		ssh.Stop()
	}
	stopMetrics()
	eng.Stop()
	return exitOK
}
