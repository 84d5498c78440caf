package sshserve

import (
	"context"
	"errors"
	"fmt"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
)

type sessionKey struct{}

// liveSession is an open console the server may have to end: at Stop, or
// when a reload of the authorized keys removes or demotes its key.
type liveSession struct {
	info Session
	key  gossh.PublicKey

	mu      sync.Mutex
	program *tea.Program
	// reason is why the server ended the session ("" while it may run);
	// the session is told once its terminal is restored.
	reason string
}

// end asks the session's console to quit, restoring the terminal, and
// records why. The first reason wins.
func (ls *liveSession) end(reason string) {
	ls.mu.Lock()
	if ls.reason == "" {
		ls.reason = reason
	}
	p := ls.program
	ls.mu.Unlock()
	if p != nil {
		p.Quit()
	}
}

// attach records the session's program, unless the session was ended
// before its console started.
func (ls *liveSession) attach(p *tea.Program) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.reason != "" {
		return false
	}
	ls.program = p
	return true
}

func (ls *liveSession) endReason() string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.reason
}

// sessionMiddleware admits a session: it re-reads the key's role (the
// file may have changed since the handshake), insists on a terminal,
// registers the session for Stop and key reloads, logs it, and keeps a
// panic in one console from taking the server — and the engine — down.
func (s *Server) sessionMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		authenticatedIn(sess.Context())
		remote := sess.RemoteAddr().String()
		ak, ok, err := s.keys.lookup(sess.PublicKey())
		if err != nil || !ok {
			s.log.Info("ssh session refused: key no longer authorized", "user", sess.User(), "remote", remote)
			wish.Fatalln(sess, "sluice: your key is not authorized")
			return
		}
		if cmd := sess.RawCommand(); cmd != "" {
			wish.Fatalln(sess, "sluice: this server runs the console only; connect without a command (ssh -t HOST)")
			return
		}
		if _, _, isPty := sess.Pty(); !isPty {
			wish.Fatalln(sess, "sluice: the console needs a terminal; connect with ssh -t")
			return
		}
		ls := &liveSession{
			info: Session{
				User:        sess.User(),
				Role:        ak.Role,
				Fingerprint: ak.Fingerprint,
				KeyComment:  ak.Comment,
				RemoteAddr:  remote,
				Environ:     sess.Environ(),
			},
			key: sess.PublicKey(),
		}
		// Registered under the same lock Stop takes: a session is either
		// refused here or ended by Stop, never missed by both.
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			wish.Fatalln(sess, "sluice is shutting down")
			return
		}
		s.sessionsWG.Add(1)
		s.sessions[sess] = ls
		n := len(s.sessions)
		s.mu.Unlock()
		defer s.sessionsWG.Done()

		info := ls.info
		sess.Context().SetValue(sessionKey{}, ls)
		log := s.log.With("user", info.User, "remote", remote, "role", info.Role, "fingerprint", info.Fingerprint, "key", info.KeyComment)
		log.Info("ssh session opened", "sessions", n)
		defer func() {
			if r := recover(); r != nil {
				log.Error("ssh session panicked", "panic", fmt.Sprint(r))
			}
			s.mu.Lock()
			delete(s.sessions, sess)
			n := len(s.sessions)
			s.mu.Unlock()
			if reason := ls.endReason(); reason != "" {
				log.Info("ssh session closed by the server", "reason", reason, "sessions", n)
				return
			}
			log.Info("ssh session closed", "sessions", n)
		}()
		next(sess)
	}
}

// consoleMiddleware runs the session's console as a Bubble Tea program on
// the session's terminal, styled for that terminal, over the engine as the
// session's role sees it. When the server ends the session, the console
// quits (restoring the terminal: alternate screen left, cursor shown), then
// the session is told why, then it closes.
func (s *Server) consoleMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer next(sess)
		ls, ok := sess.Context().Value(sessionKey{}).(*liveSession)
		if !ok {
			return // sessionMiddleware refused it
		}
		_, windowChanges, _ := sess.Pty()
		in := newSessionInput(sess)
		defer in.Close()
		info := ls.info
		info.Renderer = sessionRenderer(sess, in, backgroundQueryTimeout)

		// The session's context ends when the client goes: every engine
		// call the console makes is bounded by it, and recorded in the
		// audit log as the key's (the role comes from the key, so does
		// who acted).
		ctx, cancel := context.WithCancel(api.WithActor(sess.Context(), info.Actor()))
		defer cancel()
		model, closeConsole := s.cfg.NewConsole(ctx, access.Restrict(s.cfg.API, info.Role), info)
		defer closeConsole()
		p := tea.NewProgram(model,
			tea.WithInput(in),
			tea.WithOutput(sess),
			tea.WithAltScreen(),
			// The process's signals are not a session's business: the
			// server ends every console itself.
			tea.WithoutSignalHandler(),
			tea.WithEnvironment(sess.Environ()),
		)
		if !ls.attach(p) {
			s.tell(sess, ls.endReason())
			return
		}
		relayDone := make(chan struct{})
		go func() {
			defer close(relayDone)
			for {
				select {
				case <-ctx.Done():
					p.Quit() // the client went
					return
				case w := <-windowChanges:
					p.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
				}
			}
		}()
		if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
			s.log.Error("ssh console ended with an error", "user", info.User, "err", err)
		}
		cancel()
		<-relayDone
		if reason := ls.endReason(); reason != "" {
			s.tell(sess, reason)
		}
	}
}

// tell writes why the server ended a session, on the restored terminal,
// and closes it with a failure status.
func (s *Server) tell(sess ssh.Session, reason string) {
	_, _ = fmt.Fprintf(sess, "\r\nsluice: %s\r\n", reason)
	_ = sess.Exit(1)
}
