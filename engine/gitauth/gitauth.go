// Package gitauth holds the credential rules for git remotes Sluice talks
// to (the DAG source fetches, the review pushes): a token is a credential
// for named hosts alone, goes only over HTTPS (plain HTTP to a loopback
// address only when allowed, for test servers), and only once the server
// has asked for it (a 401 challenge), so a public remote, or a hostile one,
// never sees it. SSH remotes use the configured key or the SSH agent.
package gitauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DefaultTokenHosts are the hosts a token may always be sent to.
var DefaultTokenHosts = []string{"github.com", "api.github.com"}

// Credentials are the secrets and the rules for sending them. The zero
// value sends nothing over HTTP(S) and uses the SSH agent over SSH.
type Credentials struct {
	// Token goes, as HTTP basic auth (x-access-token), to the hosts of
	// DefaultTokenHosts and TokenHosts only. Never logged.
	Token      string
	TokenHosts []string
	// AllowHTTPLoopback lets the token travel over plain HTTP to loopback
	// addresses: for test servers, never for a real remote.
	AllowHTTPLoopback bool
	// SSHKeyPath is a private key for SSH remotes; default: the SSH agent.
	SSHKeyPath       string
	SSHKeyPassphrase string
	// SSHKnownHosts are the known_hosts files an SSH remote's host key is
	// checked against; default: SSH_KNOWN_HOSTS of the process, else
	// ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. A host not in them,
	// or with another key, is refused.
	SSHKnownHosts []string
}

// Hosts are the host names the token may be sent to.
func (c Credentials) Hosts() []string {
	return append(append([]string(nil), DefaultTokenHosts...), c.TokenHosts...)
}

// TokenAllowed reports whether the token may be sent with a request to u.
func (c Credentials) TokenAllowed(u *url.URL) bool {
	if c.Token == "" || u == nil {
		return false
	}
	host := u.Hostname()
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !c.AllowHTTPLoopback || !IsLoopback(host) {
			return false
		}
	default:
		return false
	}
	for _, h := range c.Hosts() {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Auth picks the credentials for a git URL: the token over HTTPS to an
// allowed host, the configured key or the SSH agent over SSH, nothing for
// local paths or hosts the token is not for.
func (c Credentials) Auth(rawURL string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing remote URL %s: %w", RedactURL(rawURL), err)
	}
	switch ep.Protocol {
	case "http", "https":
		u := &url.URL{Scheme: ep.Protocol, Host: ep.Host}
		if !c.TokenAllowed(u) {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: "x-access-token", Password: c.Token}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		if c.SSHKeyPath != "" {
			keys, err := gitssh.NewPublicKeysFromFile(user, c.SSHKeyPath, c.SSHKeyPassphrase)
			if err != nil {
				return nil, fmt.Errorf("loading SSH key %s: %w", c.SSHKeyPath, err)
			}
			if keys.HostKeyCallbackHelper, err = c.hostKeys(ep); err != nil {
				return nil, err
			}
			return keys, nil
		}
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("no SSH key configured and no SSH agent: %w", err)
		}
		if agent.HostKeyCallbackHelper, err = c.hostKeys(ep); err != nil {
			return nil, err
		}
		return agent, nil
	default:
		return nil, nil
	}
}

// Challenged runs op against a git URL. Over HTTP(S) it first goes without
// credentials and repeats with the token only when the server answers 401;
// over SSH the key is the only way in.
func (c Credentials) Challenged(rawURL string, op func(transport.AuthMethod) error) error {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return fmt.Errorf("parsing remote URL %s: %w", RedactURL(rawURL), err)
	}
	if ep.Protocol != "http" && ep.Protocol != "https" {
		auth, err := c.Auth(rawURL)
		if err != nil {
			return err
		}
		err = op(auth)
		if ep.Protocol == "ssh" {
			err = c.explainSSH(ep, err)
		}
		return err
	}
	err = op(nil)
	if !errors.Is(err, transport.ErrAuthenticationRequired) {
		return err
	}
	auth, aerr := c.Auth(rawURL)
	if aerr != nil {
		return aerr
	}
	if auth == nil {
		if c.Token == "" {
			return err
		}
		return fmt.Errorf("%w (the token is sent only to %s over HTTPS; list this remote's host in the token hosts to allow it)",
			err, strings.Join(c.Hosts(), ", "))
	}
	return op(auth)
}

// knownHostsFiles are the known_hosts files in effect (see SSHKnownHosts).
func (c Credentials) knownHostsFiles() []string {
	if len(c.SSHKnownHosts) > 0 {
		return c.SSHKnownHosts
	}
	if files := filepath.SplitList(os.Getenv("SSH_KNOWN_HOSTS")); len(files) > 0 {
		return files
	}
	var files []string
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".ssh", "known_hosts"))
	}
	return append(files, "/etc/ssh/ssh_known_hosts")
}

// hostKeys checks an SSH remote's host key against the known_hosts files,
// offering the server the key types known for it.
func (c Credentials) hostKeys(ep *transport.Endpoint) (gitssh.HostKeyCallbackHelper, error) {
	files := c.knownHostsFiles()
	db, err := gitssh.NewKnownHostsDb(files...)
	if err != nil {
		return gitssh.HostKeyCallbackHelper{}, fmt.Errorf("checking the host key of %s: no known_hosts file among %s (%v); add the host with ssh-keyscan, or name a file in SSH_KNOWN_HOSTS",
			sshHostPort(ep), strings.Join(files, ", "), err)
	}
	return gitssh.HostKeyCallbackHelper{
		HostKeyCallback:   db.HostKeyCallback(),
		HostKeyAlgorithms: db.HostKeyAlgorithms(sshHostPort(ep)),
	}, nil
}

func sshHostPort(ep *transport.Endpoint) string {
	return net.JoinHostPort(ep.Host, strconv.Itoa(sshPort(ep)))
}

func sshPort(ep *transport.Endpoint) int {
	if ep.Port == 0 {
		return 22
	}
	return ep.Port
}

// explainSSH puts the SSH failures an operator can act on in words: an
// unknown or changed host key, a key the server refused. Key material is
// never part of it (the key's path is).
func (c Credentials) explainSSH(ep *transport.Endpoint, err error) error {
	if err == nil {
		return nil
	}
	host := sshHostPort(ep)
	var keyErr *knownhosts.KeyError
	switch {
	case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
		return fmt.Errorf("the SSH host key of %s is not in known_hosts (%s): refusing to connect; add it (ssh-keyscan -p %d %s) after checking its fingerprint: %w",
			host, strings.Join(c.knownHostsFiles(), ", "), sshPort(ep), ep.Host, err)
	case errors.As(err, &keyErr):
		return fmt.Errorf("the SSH host key of %s does not match known_hosts (%s:%d): refusing to connect (the host changed its key, or someone is in between): %w",
			host, keyErr.Want[0].Filename, keyErr.Want[0].Line, err)
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		who := "the SSH agent's keys"
		if c.SSHKeyPath != "" {
			who = "the SSH key " + c.SSHKeyPath
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		return fmt.Errorf("%s refused %s for user %s: %w", host, who, user, err)
	}
	return err
}

// RedactURL hides the user information of a URL (a token written into it)
// so it can be shown and logged.
func RedactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 && at < strings.IndexAny(rest+"/", "/") {
			return u[:i+3] + "***@" + rest[at+1:]
		}
	}
	return u
}
