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
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
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
			return keys, nil
		}
		agent, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, fmt.Errorf("no SSH key configured and no SSH agent: %w", err)
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
		return op(auth)
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
