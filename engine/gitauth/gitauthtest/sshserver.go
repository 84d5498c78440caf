// Package gitauthtest serves git repositories over SSH on loopback, for
// tests of the SSH side of git remotes: a real SSH handshake, host key and
// public-key authentication, and the real git-upload-pack /
// git-receive-pack behind the "exec" request.
package gitauthtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves the repositories below a root over SSH on 127.0.0.1.
type SSHServer struct {
	Addr    string        // host:port
	HostKey ssh.PublicKey // the server's host key

	root       string
	authorized []ssh.PublicKey
	ln         net.Listener
	wg         sync.WaitGroup

	mu      sync.Mutex
	conns   []net.Conn
	offered int      // public keys offered by clients
	execs   []string // commands run, as the client sent them
}

// NewSSHServer serves the repositories below root to clients holding one
// of the authorized keys (user name not checked), until the test ends.
func NewSSHServer(t testing.TB, root string, authorized ...ssh.PublicKey) *SSHServer {
	t.Helper()
	for _, prog := range []string{"git-upload-pack", "git-receive-pack"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("no %s: %v", prog, err)
		}
	}
	host, _ := NewKey(t)
	s := &SSHServer{HostKey: host.PublicKey(), root: root, authorized: authorized}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		s.mu.Lock()
		s.offered++
		s.mu.Unlock()
		for _, k := range s.authorized {
			if k.Type() == key.Type() && string(k.Marshal()) == string(key.Marshal()) {
				return &ssh.Permissions{}, nil
			}
		}
		return nil, errors.New("key not authorized")
	}}
	cfg.AddHostKey(host)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// URL is the ssh:// URL of a repository below the root.
func (s *SSHServer) URL(repo string) string {
	return "ssh://git@" + s.Addr + "/" + strings.TrimPrefix(filepath.ToSlash(repo), "/")
}

// KnownHostsLine is the known_hosts line for this server.
func (s *SSHServer) KnownHostsLine() string {
	return knownhosts.Line([]string{s.Addr}, s.HostKey)
}

// Offered is how many public keys clients offered (a client that refused
// the host key offers none).
func (s *SSHServer) Offered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offered
}

// Execs are the commands clients ran, as sent.
func (s *SSHServer) Execs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...)
}

func (s *SSHServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		c.Close()
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(ch, creqs)
		}()
	}
}

// session answers "env" requests (ignored) and runs the first "exec".
func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(req.Type == "env", nil)
			continue
		}
		if len(req.Payload) < 4 || int(binary.BigEndian.Uint32(req.Payload)) != len(req.Payload)-4 {
			_ = req.Reply(false, nil)
			return
		}
		line := string(req.Payload[4:])
		s.mu.Lock()
		s.execs = append(s.execs, line)
		s.mu.Unlock()
		prog, arg, _ := strings.Cut(line, " ")
		if prog != "git-upload-pack" && prog != "git-receive-pack" {
			_ = req.Reply(false, nil)
			return
		}
		repo := filepath.Join(s.root, filepath.Clean("/"+strings.Trim(arg, `'"`)))
		_ = req.Reply(true, nil)
		cmd := exec.Command(prog, repo)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(stdin, ch)
			stdin.Close()
		}()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				status = uint32(ee.ExitCode())
			}
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

// NewKey makes an ed25519 key: its signer and its private key in
// OpenSSH PEM form, as ssh-keygen writes it.
func NewKey(t testing.TB) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

// WriteKey writes a new private key to dir/name (mode 0600) and returns
// its path, signer and PEM text.
func WriteKey(t testing.TB, dir, name string) (string, ssh.Signer, []byte) {
	t.Helper()
	signer, pemBytes := NewKey(t)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, signer, pemBytes
}

// WriteKnownHosts writes lines as a known_hosts file and returns its path.
func WriteKnownHosts(t testing.TB, dir string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
