package sshserve

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/muesli/termenv"
)

// backgroundQueryTimeout bounds the wait for a terminal's answer to the
// background colour query. Terminals answer within a round trip; one that
// answers nothing gets the dark default.
const backgroundQueryTimeout = time.Second

// sessionRenderer is the lipgloss renderer for a session's own terminal:
// its colour profile from the TERM of its pty request and the environment
// it sent (NO_COLOR, COLORTERM), its background from asking it. A dumb or
// NO_COLOR terminal is ASCII and is sent no query.
//
// Not wish's bubbletea.MakeRenderer: on a session without a server-side
// pty it asks for the background through a reader it then abandons, which
// swallows the first key typed after the query times out. Here the query
// reads through the same pump as the console, so no byte is lost.
func sessionRenderer(sess ssh.Session, in *sessionInput, timeout time.Duration) *lipgloss.Renderer {
	pty, _, _ := sess.Pty()
	if pty.Term == "" || pty.Term == "dumb" {
		r := lipgloss.NewRenderer(sess, termenv.WithProfile(termenv.Ascii))
		r.SetHasDarkBackground(true)
		return r
	}
	env := sessionEnv(append(sess.Environ(), "TERM="+pty.Term))
	// Unsafe: the session is no file descriptor, but it is a terminal.
	r := lipgloss.NewRenderer(sess, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
	dark := true
	if r.ColorProfile() != termenv.Ascii {
		if d, ok := queryDarkBackground(sess, in, timeout); ok {
			dark = d
		}
	}
	// Always set: left unset, lipgloss would ask the terminal itself, from
	// the first frame, racing the console for the input.
	r.SetHasDarkBackground(dark)
	return r
}

// sessionEnv is a session's environment as termenv reads it.
type sessionEnv []string

func (e sessionEnv) Environ() []string { return e }

func (e sessionEnv) Getenv(k string) string { return Session{Environ: e}.Getenv(k) }

var (
	// An OSC 11 answer: ESC ] 11 ; rgb:RRRR/GGGG/BBBB, ended by BEL or ST.
	oscBackground = regexp.MustCompile(`\x1b\]11;rgb:([0-9a-fA-F]{1,4})/([0-9a-fA-F]{1,4})/([0-9a-fA-F]{1,4})(?:\x07|\x1b\\)`)
	// A primary device attributes answer: every terminal gives one, so it
	// ends the wait even for a terminal that ignores OSC 11.
	deviceAttributes = regexp.MustCompile(`\x1b\[\?[0-9;]*c`)
)

// queryDarkBackground asks the terminal for its background colour (OSC 11,
// then DA1 as a fence) and reads the answer through in. ok is false when
// the terminal did not say. Whatever else arrived meanwhile (keys typed
// early) stays in in for the console.
func queryDarkBackground(w io.Writer, in *sessionInput, timeout time.Duration) (dark, ok bool) {
	if _, err := io.WriteString(w, "\x1b]11;?\x07\x1b[c"); err != nil {
		return false, false
	}
	var got []byte
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !deviceAttributes.Match(got) {
		select {
		case c := <-in.chunks:
			if c.err != nil {
				in.unread(got)
				in.setErr(c.err)
				return false, false
			}
			got = append(got, c.b...)
		case <-deadline.C:
			in.unread(got)
			return false, false
		}
	}
	m := oscBackground.FindSubmatch(got)
	rest := deviceAttributes.ReplaceAll(oscBackground.ReplaceAll(got, nil), nil)
	in.unread(rest)
	if m == nil {
		return false, false
	}
	var rgb [3]float64
	for i := range rgb {
		v, _ := strconv.ParseUint(string(m[i+1]), 16, 16)
		rgb[i] = float64(v) / float64(uint64(1)<<(4*len(m[i+1]))-1)
	}
	// HSL lightness, as lipgloss decides light or dark.
	lightness := (max(rgb[0], rgb[1], rgb[2]) + min(rgb[0], rgb[1], rgb[2])) / 2
	return lightness < 0.5, true
}

// sessionInput is a session's input read by one goroutine, so the
// background query and then the console read the same stream and nothing
// read for one is lost to the other.
type sessionInput struct {
	chunks chan chunk
	stop   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	pending []byte
	err     error
}

type chunk struct {
	b   []byte
	err error
}

func newSessionInput(src io.Reader) *sessionInput {
	in := &sessionInput{chunks: make(chan chunk), stop: make(chan struct{})}
	go in.pump(src)
	return in
}

// pump ends when the session's input ends or Close is called.
func (in *sessionInput) pump(src io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case in.chunks <- chunk{b: bytes.Clone(buf[:n])}:
			case <-in.stop:
				return
			}
		}
		if err != nil {
			select {
			case in.chunks <- chunk{err: err}:
			case <-in.stop:
			}
			return
		}
	}
}

func (in *sessionInput) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	in.mu.Lock()
	in.pending = append(b, in.pending...)
	in.mu.Unlock()
}

func (in *sessionInput) setErr(err error) {
	in.mu.Lock()
	in.err = err
	in.mu.Unlock()
}

// Read implements io.Reader for the console.
func (in *sessionInput) Read(p []byte) (int, error) {
	in.mu.Lock()
	if len(in.pending) > 0 {
		n := copy(p, in.pending)
		in.pending = in.pending[n:]
		in.mu.Unlock()
		return n, nil
	}
	if in.err != nil {
		err := in.err
		in.mu.Unlock()
		return 0, err
	}
	in.mu.Unlock()
	select {
	case c := <-in.chunks:
		if c.err != nil {
			in.setErr(c.err)
			return 0, c.err
		}
		n := copy(p, c.b)
		in.unread(c.b[n:])
		return n, nil
	case <-in.stop:
		return 0, io.EOF
	}
}

// Close ends the pump and any Read waiting on it.
func (in *sessionInput) Close() error {
	in.once.Do(func() { close(in.stop) })
	return nil
}
