package sshserve

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
)

type sessionKey struct{}

// sessionMiddleware admits a session: it re-reads the key's role (the
// file may have changed since the handshake), insists on a terminal,
// registers the session for Stop, logs it, and keeps a panic in one
// console from taking the server — and the engine — down.
func (s *Server) sessionMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			wish.Fatalln(sess, "sluice is shutting down")
			return
		}
		s.sessionsWG.Add(1)
		s.mu.Unlock()
		defer s.sessionsWG.Done()

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
		info := Session{
			User:        sess.User(),
			Role:        ak.Role,
			Fingerprint: ak.Fingerprint,
			KeyComment:  ak.Comment,
			RemoteAddr:  remote,
			Environ:     sess.Environ(),
		}
		sess.Context().SetValue(sessionKey{}, info)
		s.mu.Lock()
		s.sessions[sess] = info
		n := len(s.sessions)
		s.mu.Unlock()
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
			log.Info("ssh session closed", "sessions", n)
		}()
		next(sess)
	}
}

// consoleMiddleware runs the session's console as a Bubble Tea program on
// the session's terminal, over the engine as the session's role sees it.
func (s *Server) consoleMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		info, ok := sess.Context().Value(sessionKey{}).(Session)
		if !ok {
			return // sessionMiddleware refused it
		}
		// The session's context ends when the client goes: every engine
		// call the console makes is bounded by it, and recorded in the
		// audit log as the SSH user's.
		ctx := api.WithActor(sess.Context(), info.User)
		model, closeConsole := s.cfg.NewConsole(ctx, access.Restrict(s.cfg.API, info.Role), info)
		defer closeConsole()
		program := func(ssh.Session) *tea.Program {
			opts := append(bm.MakeOptions(sess),
				tea.WithAltScreen(),
				// The process's signals are not a session's business: the
				// server stops every console itself.
				tea.WithoutSignalHandler(),
				tea.WithEnvironment(sess.Environ()),
			)
			return tea.NewProgram(model, opts...)
		}
		bm.MiddlewareWithProgramHandler(program, termenv.Ascii)(next)(sess)
	}
}
