package review

import (
	"net/http"
	"net/url"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/sluice-dev/sluice/engine/gitauth"
)

// The GitHub token is a credential for GitHub alone. It goes to a host only
// when the operator said that host is GitHub (github.com, the configured
// API's host, or a host listed in TokenHosts), only over HTTPS (plain HTTP
// to a loopback address only with AllowHTTPLoopback, for test servers),
// and to git remotes only once the server has asked (a 401 challenge): a
// public remote, or a hostile one, never sees it. The rules are gitauth's,
// shared with the git DAG source.

// credentials are the review's secrets under gitauth's rules; the API's
// host counts as a GitHub host.
func (c *Config) credentials() gitauth.Credentials {
	hosts := append([]string(nil), c.TokenHosts...)
	if c.GitHubAPIURL != "" {
		if u, err := url.Parse(c.GitHubAPIURL); err == nil && u.Hostname() != "" {
			hosts = append(hosts, u.Hostname())
		}
	}
	return gitauth.Credentials{
		Token:             c.Token,
		TokenHosts:        hosts,
		AllowHTTPLoopback: c.AllowHTTPLoopback,
		SSHKeyPath:        c.SSHKeyPath,
		SSHKeyPassphrase:  c.SSHKeyPassphrase,
	}
}

// tokenAllowed reports whether the token may be sent with a request to u.
func (c *Config) tokenAllowed(u *url.URL) bool { return c.credentials().TokenAllowed(u) }

// challenged runs op against a git URL, with credentials only once the
// server has asked for them (gitauth.Credentials.Challenged).
func (s *scratch) challenged(rawURL string, op func(transport.AuthMethod) error) error {
	return s.cfg.credentials().Challenged(rawURL, op)
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
