package review

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// The GitHub token is a credential for GitHub alone. It goes to a host only
// when the operator said that host is GitHub (github.com, the configured
// API's host, or a host listed in TokenHosts), only over HTTPS (plain HTTP
// to a loopback address only with AllowHTTPLoopback, for test servers),
// and to git remotes only once the server has asked (a 401 challenge): a
// public remote, or a hostile one, never sees it.

// tokenHosts are the host names the token may be sent to.
func (c *Config) tokenHosts() []string {
	hosts := []string{"github.com", "api.github.com"}
	if c.GitHubAPIURL != "" {
		if u, err := url.Parse(c.GitHubAPIURL); err == nil && u.Hostname() != "" {
			hosts = append(hosts, u.Hostname())
		}
	}
	return append(hosts, c.TokenHosts...)
}

// tokenAllowed reports whether the token may be sent with a request to u.
func (c *Config) tokenAllowed(u *url.URL) bool {
	if c.Token == "" || u == nil {
		return false
	}
	host := u.Hostname()
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !c.AllowHTTPLoopback || !isLoopback(host) {
			return false
		}
	default:
		return false
	}
	for _, h := range c.tokenHosts() {
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// auth picks the credentials for a git URL once the server has asked for
// them: the token over HTTPS to a GitHub host, the configured key or the
// SSH agent over SSH, nothing for local paths or hosts the token is not
// for.
func (s *scratch) auth(rawURL string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing remote URL %s: %w", redactURL(rawURL), err)
	}
	switch ep.Protocol {
	case "http", "https":
		u := &url.URL{Scheme: ep.Protocol, Host: ep.Host}
		if !s.cfg.tokenAllowed(u) {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: "x-access-token", Password: s.cfg.Token}, nil
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		if s.cfg.SSHKeyPath != "" {
			keys, err := gitssh.NewPublicKeysFromFile(user, s.cfg.SSHKeyPath, s.cfg.SSHKeyPassphrase)
			if err != nil {
				return nil, fmt.Errorf("loading SSH key %s: %w", s.cfg.SSHKeyPath, err)
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

// challenged runs op against a git URL. Over HTTP(S) it first goes without
// credentials and repeats with the token only when the server answers 401;
// over SSH the key is the only way in.
func (s *scratch) challenged(rawURL string, op func(transport.AuthMethod) error) error {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return fmt.Errorf("parsing remote URL %s: %w", redactURL(rawURL), err)
	}
	if ep.Protocol != "http" && ep.Protocol != "https" {
		auth, err := s.auth(rawURL)
		if err != nil {
			return err
		}
		return op(auth)
	}
	err = op(nil)
	if !errors.Is(err, transport.ErrAuthenticationRequired) {
		return err
	}
	auth, aerr := s.auth(rawURL)
	if aerr != nil {
		return aerr
	}
	if auth == nil {
		if s.cfg.Token == "" {
			return err
		}
		return fmt.Errorf("%w (the GitHub token is sent only to %s over HTTPS; list this remote's host in TokenHosts to allow it)",
			err, strings.Join(s.cfg.tokenHosts(), ", "))
	}
	return op(auth)
}

// tokenTransport adds the token to the API requests that may carry it. The
// REST API gets it without a challenge: GitHub answers anonymous requests
// on a private repository with 404, never 401. Every request is checked,
// redirects included, so a redirect elsewhere goes without it.
type tokenTransport struct {
	cfg  *Config
	base http.RoundTripper
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.cfg.tokenAllowed(r.URL) {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.cfg.Token)
	return t.base.RoundTrip(r)
}
