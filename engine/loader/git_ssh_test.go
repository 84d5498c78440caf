package loader

import (
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/gitauth"
	"github.com/sluice-dev/sluice/engine/gitauth/gitauthtest"
)

// keyMaterial are the strings of a key that must never reach an error or
// a log: the private key's PEM body lines and the public key's base64.
func keyMaterial(pemText []byte, pub ssh.PublicKey) []string {
	var out []string
	for _, line := range strings.Split(string(pemText), "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return append(out, base64.StdEncoding.EncodeToString(pub.Marshal()))
}

// TestGitOverSSH: the git source fetches over SSH from a loopback server
// running the real git-upload-pack, with a private key file and the host
// key checked against known_hosts; a key the server does not accept, an
// unknown host and a changed host key are refused with errors that say so
// and show no key material.
func TestGitOverSSH(t *testing.T) {
	t.Parallel()
	g := newGitRemote(t)
	first := g.commit("first", map[string]string{"dags/a.json": dagJSON("a v1", 2)})
	keys := t.TempDir()
	good, goodSigner, goodPEM := gitauthtest.WriteKey(t, keys, "id_good")
	bad, badSigner, badPEM := gitauthtest.WriteKey(t, keys, "id_bad")
	srv := gitauthtest.NewSSHServer(t, filepath.Dir(g.bare), goodSigner.PublicKey())
	url := srv.URL(filepath.Base(g.bare))
	knownHosts := gitauthtest.WriteKnownHosts(t, t.TempDir(), srv.KnownHostsLine())
	secrets := append(keyMaterial(goodPEM, goodSigner.PublicKey()), keyMaterial(badPEM, badSigner.PublicKey())...)
	noSecrets := func(t *testing.T, what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("%s shows key material %q:\n%s", what, s, text)
			}
		}
	}

	t.Run("key", func(t *testing.T) {
		log, buf := testLogger()
		cfg := gitConfig(url, "main", "dags", t.TempDir())
		cfg.GitCredentials = gitauth.Credentials{SSHKeyPath: good, SSHKnownHosts: []string{knownHosts}}
		l, err := New(cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(context.Background()); err != nil {
			t.Fatal(err)
		}
		d := mustEntry(t, l.DAGs(), "a")
		if d.Status != api.DAGActive || d.Origin == nil || d.Origin.Hash != first || d.Def.Description != "a v1" {
			t.Fatalf("a over SSH: %+v", d)
		}
		second := g.commit("second", map[string]string{"dags/a.json": dagJSON("a v2", 2)})
		if _, err := l.ScanNow(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := mustEntry(t, l.DAGs(), "a"); d.Origin == nil || d.Origin.Hash != second || d.Def.Description != "a v2" {
			t.Fatalf("a after the second commit: %+v", d)
		}
		if h := gitSourceHealth(t, l); !h.OK || h.Commit == nil || h.Commit.Hash != second {
			t.Fatalf("source health %+v", h)
		}
		want := "git-upload-pack '/" + filepath.Base(g.bare) + "'"
		if execs := srv.Execs(); len(execs) == 0 || execs[0] != want {
			t.Fatalf("the server ran %q, want %q", execs, want)
		}
		noSecrets(t, "the log", buf.String())
	})

	for _, tc := range []struct {
		name       string
		creds      gitauth.Credentials
		want       []string
		keyOffered bool // the client got as far as offering a key
	}{
		{
			name:       "key not accepted",
			creds:      gitauth.Credentials{SSHKeyPath: bad, SSHKnownHosts: []string{knownHosts}},
			want:       []string{srv.Addr + " refused the SSH key " + bad + " for user git"},
			keyOffered: true,
		},
		{
			name: "unknown host",
			creds: gitauth.Credentials{SSHKeyPath: good, SSHKnownHosts: []string{gitauthtest.WriteKnownHosts(t, t.TempDir(),
				"[127.0.0.1]:1 "+strings.TrimPrefix(srv.KnownHostsLine(), strings.Fields(srv.KnownHostsLine())[0]+" "))}},
			want: []string{"the SSH host key of " + srv.Addr + " is not in known_hosts", "refusing to connect"},
		},
		{
			name: "host key changed",
			creds: gitauth.Credentials{SSHKeyPath: good, SSHKnownHosts: []string{gitauthtest.WriteKnownHosts(t, t.TempDir(),
				strings.Fields(srv.KnownHostsLine())[0]+" "+string(ssh.MarshalAuthorizedKey(badSigner.PublicKey())))}},
			want: []string{"the SSH host key of " + srv.Addr + " does not match known_hosts", "refusing to connect"},
		},
		{
			name:  "no known_hosts",
			creds: gitauth.Credentials{SSHKeyPath: good, SSHKnownHosts: []string{filepath.Join(t.TempDir(), "absent")}},
			want:  []string{"checking the host key of " + srv.Addr + ": no known_hosts file"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offered := srv.Offered()
			log, buf := testLogger()
			cfg := gitConfig(url, "main", "dags", t.TempDir())
			cfg.GitCredentials = tc.creds
			l, err := New(cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			res, err := l.ScanNow(context.Background())
			if err == nil || res.Failed != 1 {
				t.Fatalf("scan = %+v, %v; want the git source failed", res, err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q:\n%v", want, err)
				}
			}
			if h := gitSourceHealth(t, l); h.OK || !strings.Contains(h.Error, tc.want[0]) {
				t.Errorf("source health %+v", h)
			}
			if len(l.DAGs()) != 0 {
				t.Errorf("DAGs from a refused connection:\n%s", dump(l.DAGs()))
			}
			if got := srv.Offered() > offered; got != tc.keyOffered {
				t.Errorf("key offered to the server: %v, want %v", got, tc.keyOffered)
			}
			noSecrets(t, "the error", err.Error())
			noSecrets(t, "the log", buf.String())
		})
	}
}

// TestGitOverSSHAgent: without a key file the SSH agent's keys are used
// (SSH_AUTH_SOCK of the process: not parallel); an agent without an
// accepted key is refused by name.
func TestGitOverSSHAgent(t *testing.T) {
	g := newGitRemote(t)
	first := g.commit("first", map[string]string{"dags/a.json": dagJSON("a", 1)})
	signer, signerPEM := gitauthtest.NewKey(t)
	_, otherPEM := gitauthtest.NewKey(t)
	srv := gitauthtest.NewSSHServer(t, filepath.Dir(g.bare), signer.PublicKey())
	knownHosts := gitauthtest.WriteKnownHosts(t, t.TempDir(), srv.KnownHostsLine())

	for _, tc := range []struct {
		name string
		key  []byte
		ok   bool
	}{{"accepted key", signerPEM, true}, {"other key", otherPEM, false}} {
		t.Run(tc.name, func(t *testing.T) {
			sock := serveAgent(t, tc.key)
			t.Setenv("SSH_AUTH_SOCK", sock)
			cfg := gitConfig(srv.URL(filepath.Base(g.bare)), "main", "dags", t.TempDir())
			cfg.GitCredentials = gitauth.Credentials{SSHKnownHosts: []string{knownHosts}}
			l, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.ScanNow(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if d := mustEntry(t, l.DAGs(), "a"); d.Origin == nil || d.Origin.Hash != first {
					t.Fatalf("a through the agent: %+v", d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), srv.Addr+" refused the SSH agent's keys for user git") {
				t.Fatalf("scan with the agent's other key: %v", err)
			}
		})
	}
}

// serveAgent runs an SSH agent holding a key (PEM) on a unix socket in a
// temporary folder and returns the socket's path.
func serveAgent(t *testing.T, pemKey []byte) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "agent") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return sock
}
