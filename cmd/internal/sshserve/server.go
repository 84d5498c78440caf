// Package sshserve serves the console over SSH (the soft-serve pattern):
// one engine in the process, one console per SSH session, each with its
// own size, focus and filters, each seeing the engine through
// access.Restrict for the role its key carries. Public-key authentication
// only; a key not in the authorized keys file is refused.
package sshserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/keygen"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// Config configures a Server.
type Config struct {
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr string
	// HostKeyPath is the server's private host key; an ed25519 key is
	// generated there (mode 0600) when the file does not exist.
	HostKeyPath string
	// AuthorizedKeysPath lists the keys that may log in, with their roles
	// (see AuthorizedKeys). It is re-read when it changes, so adding or
	// revoking a key needs no restart; while it is unreadable or invalid,
	// every login is refused.
	AuthorizedKeysPath string
	// DefaultRole is the role of a key that names none (default operator).
	DefaultRole access.Role
	// API is the one engine every session shares.
	API api.API
	// NewConsole builds a session's console; nil builds tui.New.
	NewConsole ConsoleFunc
	Logger     *slog.Logger
	// IdleTimeout closes a connection with no traffic either way for
	// that long (default 1h, --ssh-idle-timeout: a console left open on a
	// wall display redraws its times, which is traffic; a peer that
	// vanished is not).
	IdleTimeout time.Duration
	// Limits caps connections and bounds the handshake (DefaultLimits
	// where zero).
	Limits Limits
}

// DefaultIdleTimeout is the IdleTimeout of a Config that sets none.
const DefaultIdleTimeout = time.Hour

// Session describes an SSH session to the console it gets.
type Session struct {
	// User is the name the client sent: shown, never trusted (any
	// authorized key may send any name; see Actor).
	User string
	// Role, Fingerprint and KeyComment come from the authorized key.
	Role        access.Role
	Fingerprint string
	KeyComment  string
	RemoteAddr  string
	Environ     []string
	// Renderer is the session's own terminal (colour profile, background):
	// the console's styles are built from it.
	Renderer *lipgloss.Renderer
}

// Actor is who the session acts as, in the audit log and wherever the
// engine records who did something ("paused by …"): the key that
// authenticated it — its comment in the authorized keys file and its
// fingerprint — never the user name the client sent, which any authorized
// key may set to anything. "olga@laptop (SHA256:AbCdEfGhIjKl)", or
// "key SHA256:AbCdEfGhIjKl" for a key without a comment.
//
// The fingerprint is cut to its first actorFingerprintLen characters so
// that "by …" fits a row of the console: only listed keys log in, and 72
// bits tell a team's keys apart; it is the start of what ssh-keygen -l
// prints, and the session's log records carry it whole.
func (s Session) Actor() string {
	fp := s.Fingerprint
	if hash, ok := strings.CutPrefix(fp, "SHA256:"); ok && len(hash) > actorFingerprintLen {
		fp = "SHA256:" + hash[:actorFingerprintLen]
	}
	if s.KeyComment == "" {
		return "key " + fp
	}
	return s.KeyComment + " (" + fp + ")"
}

// actorFingerprintLen is how much of a key's SHA256 fingerprint (base64,
// 6 bits a character) names it in Actor.
const actorFingerprintLen = 12

// Getenv reads the session's environment (what the client sent with
// SendEnv/SetEnv), for NO_COLOR and the like.
func (s Session) Getenv(name string) string {
	for _, kv := range s.Environ {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:]
		}
	}
	return ""
}

// ConsoleFunc builds the console of one session over api (already
// restricted to the session's role). close is called when the session
// ends, to release what the console holds (its engine subscription).
type ConsoleFunc func(ctx context.Context, api api.API, s Session) (m tea.Model, close func())

// Server is the SSH front end of a running engine.
type Server struct {
	cfg  Config
	log  *slog.Logger
	keys *keyFile
	srv  *ssh.Server
	gate *gate

	// life runs the listener, the authorized keys watch and the shutdown
	// that ends the sessions: the engine services' one start/stop shape.
	life lifecycle.Lifecycle

	mu       sync.Mutex
	ln       net.Listener
	sessions map[ssh.Session]*liveSession
	stopping bool
	// sessionsWG counts session handlers, so Stop returns only when every
	// console has ended and released its subscription. Add happens under
	// mu and only before stopping, so it never races Stop's Wait.
	sessionsWG sync.WaitGroup
}

// New checks the configuration, loads the authorized keys (an invalid
// file is an error now, not at the first login) and loads or generates the
// host key.
func New(cfg Config) (*Server, error) {
	if cfg.API == nil {
		return nil, errors.New("sshserve: no engine")
	}
	if cfg.HostKeyPath == "" {
		return nil, errors.New("sshserve: no host key path")
	}
	if cfg.AuthorizedKeysPath == "" {
		return nil, errors.New("sshserve: no authorized keys file; only listed keys may log in")
	}
	if cfg.DefaultRole == "" {
		cfg.DefaultRole = access.Operator
	}
	if _, err := access.ParseRole(string(cfg.DefaultRole)); err != nil {
		return nil, fmt.Errorf("sshserve: default role: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NewConsole == nil {
		cfg.NewConsole = DefaultConsole
	}
	log := cfg.Logger.With("component", "ssh")
	keys, err := newKeyFile(cfg.AuthorizedKeysPath, cfg.DefaultRole, log)
	if err != nil {
		return nil, err
	}
	if err := ensureHostKey(cfg.HostKeyPath); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, keys: keys, sessions: map[ssh.Session]*liveSession{}}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(cfg.HostKeyPath),
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithMiddleware(s.consoleMiddleware, s.sessionMiddleware),
		wish.WithVersion("sluice"),
	)
	if err != nil {
		return nil, fmt.Errorf("sshserve: %w", err)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	srv.IdleTimeout = cfg.IdleTimeout
	s.gate = newGate(cfg.Limits, func(remote string, st ConnStats) {
		log.Warn("ssh connections refused: a connection cap is reached", "remote", remote,
			"open", st.Open, "unauthenticated", st.Unauthenticated, "refused", st.Refused)
	})
	srv.ConnCallback = s.gate.admit
	srv.ConnectionFailedCallback = func(c net.Conn, err error) {
		s.log.Debug("ssh connection failed", "remote", c.RemoteAddr().String(), "err", err)
	}
	s.srv = srv
	keys.onChange = s.enforceKeys
	return s, nil
}

// ensureHostKey generates an ed25519 host key at path when there is none,
// in a directory only the owner can enter.
func ensureHostKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("host key directory: %w", err)
	}
	if _, err := keygen.New(path, keygen.WithKeyType(keygen.Ed25519), keygen.WithWrite()); err != nil {
		return fmt.Errorf("generating host key %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	return nil
}

// Start listens on Addr and serves in the background until Stop or ctx
// ends. A bind failure is returned at once.
func (s *Server) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(ctx context.Context) error {
		ln, err := net.Listen("tcp", s.cfg.Addr)
		if err != nil {
			return fmt.Errorf("ssh listener on %q: %w", s.cfg.Addr, err)
		}
		s.mu.Lock()
		s.ln = ln
		s.mu.Unlock()
		watching := s.watchKeys(ctx)
		serving := make(chan struct{})
		s.life.Go(func() {
			defer close(serving)
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
				s.log.Error("ssh server stopped", "err", err)
			}
		})
		s.life.Go(func() {
			<-ctx.Done()
			// Keys first: a reload must not end a session the shutdown
			// is already ending with its own reason.
			<-watching
			s.shutdown(serving)
		})
		s.log.Info("serving the console over ssh", "addr", ln.Addr().String(), "authorized_keys", s.cfg.AuthorizedKeysPath, "keys", s.keys.count())
		return nil
	})
}

// Addr is the address the server listens on (nil before Start).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// ConnStats counts the connections open now and those refused or timed
// out since the start.
func (s *Server) ConnStats() ConnStats { return s.gate.Stats() }

// Sessions returns the sessions open now.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.sessions))
	for _, v := range s.sessions {
		out = append(out, v.info)
	}
	return out
}

// stopGrace bounds how long Stop waits for consoles to restore their
// terminals and say goodbye before it cuts the connections.
const stopGrace = 5 * time.Second

// Stop ends every session cleanly — each console quits, restoring its
// terminal, and is told the server is stopping — then closes the listener
// and every connection, and waits until every session's console has ended.
// A client that does not read its output is cut after stopGrace. The
// engine is not touched: it is the caller's. The end of Start's ctx does
// the same; Stop then waits for it.
func (s *Server) Stop() { s.life.Stop(nil) }

// shutdown is Stop's work, run once by the lifecycle when its context
// ends; serving closes when Serve has returned.
func (s *Server) shutdown(serving <-chan struct{}) {
	s.mu.Lock()
	s.stopping = true
	live := make([]*liveSession, 0, len(s.sessions))
	for _, ls := range s.sessions {
		live = append(live, ls)
	}
	s.mu.Unlock()
	for _, ls := range live {
		ls.end("the server is stopping; this session is closed")
	}
	ended := make(chan struct{})
	go func() {
		s.sessionsWG.Wait()
		close(ended)
	}()
	grace := time.NewTimer(stopGrace)
	select {
	case <-ended:
	case <-grace.C:
		s.log.Warn("ssh sessions did not end within the grace period: closing their connections", "grace", stopGrace)
	}
	grace.Stop()
	// Close, not Shutdown: Shutdown waits for connections to end by
	// themselves, which a client may never do. Closing our own listener
	// too covers a Stop that comes before Serve tracked it.
	_ = s.srv.Close()
	s.mu.Lock()
	_ = s.ln.Close()
	s.mu.Unlock()
	<-serving
	<-ended
	s.log.Info("ssh server stopped")
}

// authorize is the public-key callback: only listed keys get in.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	ak, ok, err := s.keys.lookup(key)
	fp := gossh.FingerprintSHA256(key)
	if err != nil {
		s.log.Error("authorized keys unreadable: refusing every login", "err", err)
		return false
	}
	if !ok {
		s.log.Info("ssh key refused", "user", ctx.User(), "remote", ctx.RemoteAddr().String(), "fingerprint", fp)
		return false
	}
	s.log.Debug("ssh key accepted", "user", ctx.User(), "remote", ctx.RemoteAddr().String(), "fingerprint", fp, "role", ak.Role)
	return true
}
