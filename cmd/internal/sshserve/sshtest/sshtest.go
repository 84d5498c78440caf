// Package sshtest drives a console over a real SSH connection in tests:
// golang.org/x/crypto/ssh as the client, a pseudo-terminal of a chosen
// size, keys typed into the session and the screen read back as text.
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"
)

// NewKey returns a fresh ed25519 key and its authorized_keys line (no
// trailing newline, no comment).
func NewKey(t testing.TB) (gossh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
}

// Dial opens an SSH connection with public-key auth only.
func Dial(addr, user string, key gossh.Signer) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
}

// Console is an interactive session with a terminal.
type Console struct {
	Client  *gossh.Client
	Session *gossh.Session
	Screen  *Screen
	stdin   io.WriteCloser
	done    chan error
}

// Terminal describes the client's terminal.
type Terminal struct {
	// Term is the TERM sent with the pty request (default xterm-256color).
	Term          string
	Width, Height int
	// Env is sent with Setenv before the shell starts (NO_COLOR, …).
	Env map[string]string
	// Background is the colour the terminal reports when asked (OSC 11),
	// as "rgb:RRRR/GGGG/BBBB"; default black. Like a real terminal it
	// answers the device attributes query (DA1) in any case.
	Background string
	// Limit bounds the bytes the screen keeps (0: everything).
	Limit int
}

// Open connects as user with key and starts a shell on a width×height
// xterm-256color terminal. The session is closed at the end of the test.
func Open(t testing.TB, addr, user string, key gossh.Signer, width, height int, env map[string]string) *Console {
	t.Helper()
	return OpenTerminal(t, addr, user, key, Terminal{Width: width, Height: height, Env: env})
}

// OpenTerminal is Open with the terminal described in full.
func OpenTerminal(t testing.TB, addr, user string, key gossh.Signer, term Terminal) *Console {
	t.Helper()
	client, err := Dial(addr, user, key)
	if err != nil {
		t.Fatalf("ssh dial %s as %s: %v", addr, user, err)
	}
	c, err := StartTerminal(client, term)
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Start opens a shell session with an xterm-256color terminal on an
// existing connection. limit bounds the bytes the screen keeps (0:
// everything).
func Start(client *gossh.Client, width, height int, env map[string]string, limit int) (*Console, error) {
	return StartTerminal(client, Terminal{Width: width, Height: height, Env: env, Limit: limit})
}

// StartTerminal is Start with the terminal described in full.
func StartTerminal(client *gossh.Client, term Terminal) (*Console, error) {
	if term.Term == "" {
		term.Term = "xterm-256color"
	}
	if term.Background == "" {
		term.Background = "rgb:0000/0000/0000"
	}
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	for k, v := range term.Env {
		if err := sess.Setenv(k, v); err != nil {
			sess.Close()
			return nil, fmt.Errorf("setenv %s: %w", k, err)
		}
	}
	if err := sess.RequestPty(term.Term, term.Height, term.Width, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		sess.Close()
		return nil, fmt.Errorf("pty: %w", err)
	}
	screen := NewScreen(term.Limit)
	sess.Stdout = screen
	sess.Stderr = screen
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, err
	}
	// Answer terminal queries as a terminal would, in order, off the
	// goroutine that delivers output.
	answers := make(chan string, 16)
	screen.answer = func(query string) {
		switch query {
		case queryBackground:
			answers <- "\x1b]11;" + term.Background + "\x1b\\"
		case queryDeviceAttributes:
			answers <- "\x1b[?62;22c"
		}
	}
	ended := make(chan struct{})
	go func() {
		for {
			select {
			case a := <-answers:
				if _, err := io.WriteString(stdin, a); err != nil {
					return
				}
			case <-ended:
				return
			}
		}
	}()
	if err := sess.Shell(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("shell: %w", err)
	}
	c := &Console{Client: client, Session: sess, Screen: screen, stdin: stdin, done: make(chan error, 1)}
	go func() {
		err := sess.Wait()
		close(ended)
		c.done <- err
	}()
	return c, nil
}

// Type sends keys as the terminal would.
func (c *Console) Type(t testing.TB, keys string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, keys); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// Resize tells the server the terminal changed size.
func (c *Console) Resize(width, height int) error { return c.Session.WindowChange(height, width) }

// Wait waits for the session to end, up to d: ended false means it
// still runs; err is how it ended (*ssh.ExitError for a non-zero status).
func (c *Console) Wait(d time.Duration) (ended bool, err error) {
	select {
	case err := <-c.done:
		c.done <- err
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// Close ends the session and the connection.
func (c *Console) Close() {
	c.Session.Close()
	c.Client.Close()
}

// The queries a terminal answers.
const (
	queryBackground       = "\x1b]11;?\x07"
	queryDeviceAttributes = "\x1b[c"
)

// Screen collects what the server writes and lets a test wait for text.
type Screen struct {
	mu      sync.Mutex
	answer  func(query string)
	tail    string // the end of the last write, for queries cut in two
	buf     []byte
	base    int // bytes dropped from the front (when limited)
	limit   int
	total   int
	changed chan struct{}
}

// NewScreen keeps the last limit bytes (0: all).
func NewScreen(limit int) *Screen { return &Screen{limit: limit, changed: make(chan struct{}, 1)} }

func (s *Screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf = append(s.buf, p...)
	s.total += len(p)
	if s.answer != nil {
		// A query may straddle two writes: scan the end of the previous
		// one too, counting only queries that end in this one.
		seen := s.tail + string(p)
		for _, q := range []string{queryBackground, queryDeviceAttributes} {
			for i := 0; ; {
				j := strings.Index(seen[i:], q)
				if j < 0 {
					break
				}
				if i+j+len(q) > len(s.tail) {
					s.answer(q)
				}
				i += j + len(q)
			}
		}
		s.tail = seen[max(len(seen)-len(queryBackground)+1, 0):]
	}
	if s.limit > 0 && len(s.buf) > 2*s.limit {
		drop := len(s.buf) - s.limit
		s.buf = append(s.buf[:0:0], s.buf[drop:]...)
		s.base += drop
	}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Mark is a position in the output: WaitSince looks only after it.
func (s *Screen) Mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + len(s.buf)
}

// Bytes is how much the server wrote in all.
func (s *Screen) Bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Raw is everything since mark as written, escape sequences included.
func (s *Screen) Raw(mark int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := min(max(mark-s.base, 0), len(s.buf))
	return string(s.buf[i:])
}

// Text is everything since mark with escape sequences removed.
func (s *Screen) Text(mark int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := max(mark-s.base, 0)
	if i > len(s.buf) {
		i = len(s.buf)
	}
	return ansi.Strip(string(s.buf[i:]))
}

// WaitFor waits until every one of texts appeared after mark, or fails the
// test after d with what the screen showed.
func (s *Screen) WaitFor(t testing.TB, mark int, d time.Duration, texts ...string) {
	t.Helper()
	if err := s.Await(mark, d, texts...); err != nil {
		t.Fatal(err)
	}
}

// WaitForAny waits until one of texts appeared after mark.
func (s *Screen) WaitForAny(t testing.TB, mark int, d time.Duration, texts ...string) {
	t.Helper()
	if err := s.await(mark, d, texts, true); err != nil {
		t.Fatal(err)
	}
}

// Await is WaitFor returning an error instead of failing a test.
func (s *Screen) Await(mark int, d time.Duration, texts ...string) error {
	return s.await(mark, d, texts, false)
}

func (s *Screen) await(mark int, d time.Duration, texts []string, anyOf bool) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		text := s.Text(mark)
		missing := ""
		found := false
		for _, want := range texts {
			if strings.Contains(text, want) {
				found = true
			} else if missing == "" {
				missing = want
			}
		}
		if missing == "" || anyOf && found {
			return nil
		}
		if anyOf {
			missing = strings.Join(texts, `" or "`)
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			tail := text
			if len(tail) > 3000 {
				tail = tail[len(tail)-3000:]
			}
			return fmt.Errorf("screen never showed %q within %v; it showed (last 3000 bytes):\n%s", missing, d, tail)
		}
	}
}

// FreePort is a 127.0.0.1 address with a port free right now.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
