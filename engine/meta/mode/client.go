// Package mode is a client for Mode's API v2: spaces, reports with their
// usage, each report's queries with their SQL, and archiving a report. It
// speaks HAL (`_embedded`, `_links`), pages through lists (?page=N, 30 items
// a page, no next marker: a short page is the last), retries 429 and 5xx
// with backoff honouring Retry-After, bounds its concurrency, and never
// writes its credentials anywhere.
package mode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// DefaultBaseURL is Mode's API root; the workspace follows it.
const DefaultBaseURL = "https://app.mode.com/api"

// Environment variables holding the API credentials.
const (
	EnvToken  = "MODE_TOKEN"
	EnvSecret = "MODE_SECRET"
)

// Errors callers act on; an *APIError wraps one of them.
var (
	ErrUnauthorized = errors.New("mode: unauthorized: check the API token and secret")
	ErrForbidden    = errors.New("mode: forbidden: the token lacks access")
	ErrNotFound     = errors.New("mode: not found")
	ErrRateLimited  = errors.New("mode: rate limited")
	ErrServer       = errors.New("mode: server error")
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root (DefaultBaseURL when empty); requests go to
	// BaseURL/{workspace}/....
	BaseURL   string
	Workspace string
	// Token and Secret are the API token's name and secret, sent as HTTP
	// basic auth. They are never logged or put in an error.
	Token, Secret string
	// HTTPClient defaults to a client with a 60 s timeout.
	HTTPClient *http.Client
	// Concurrency bounds requests in flight (default 4).
	Concurrency int
	// PageSize is the API's page length (30): a shorter page is the last.
	PageSize int
	// MaxAttempts per request, first included (default 6).
	MaxAttempts uint
	// MaxElapsed bounds one request's retries (default 2 min).
	MaxElapsed time.Duration
	// InitialBackoff is the first wait after a failure without Retry-After
	// (default 500 ms); it grows exponentially with jitter.
	InitialBackoff time.Duration
	Logger         *slog.Logger
}

// LogValue keeps the credentials out of logs even if a Config is logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("workspace", c.Workspace),
		slog.Bool("credentials", c.Token != "" && c.Secret != ""),
	)
}

// Client talks to one Mode workspace. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL // BaseURL/{workspace}
	sem  chan struct{}
	log  *slog.Logger
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Workspace == "" || strings.ContainsAny(cfg.Workspace, "/?#") {
		return nil, fmt.Errorf("mode: workspace %q: want a workspace name", cfg.Workspace)
	}
	if cfg.Token == "" || cfg.Secret == "" {
		return nil, fmt.Errorf("mode: missing API token or secret (%s, %s)", EnvToken, EnvSecret)
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/") + "/" + url.PathEscape(cfg.Workspace))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("mode: base URL %q: want http(s)://host/path", cfg.BaseURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 30
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.MaxElapsed <= 0 {
		cfg.MaxElapsed = 2 * time.Minute
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = 500 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, base: base, sem: make(chan struct{}, cfg.Concurrency), log: log}, nil
}

// Workspace returns the workspace the client reads.
func (c *Client) Workspace() string { return c.cfg.Workspace }

// APIError is a response Mode refused. Err is one of the sentinels above
// when the status has one.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Message string // Mode's error message, if the body had one
	Err     error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("mode: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if errors.Is(e.Err, ErrUnauthorized) {
		msg += " (check " + EnvToken + " and " + EnvSecret + ")"
	}
	return msg
}

func (e *APIError) Unwrap() error { return e.Err }

// do sends one request with retries and decodes a JSON response into out
// (unless out is nil). path is relative to the workspace root.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	attempt := 0
	op := func() (struct{}, error) {
		attempt++
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return struct{}{}, backoff.Permanent(ctx.Err())
		}
		body, err := c.roundTrip(ctx, method, u.String(), u.Path)
		<-c.sem
		c.log.Debug("mode request", "method", method, "path", u.Path, "query", u.RawQuery, "attempt", attempt, "err", err)
		if err != nil {
			return struct{}{}, err
		}
		if out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				return struct{}{}, backoff.Permanent(fmt.Errorf("mode: %s %s: decoding response: %w", method, u.Path, err))
			}
		}
		return struct{}{}, nil
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.cfg.InitialBackoff
	_, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(b),
		backoff.WithMaxTries(c.cfg.MaxAttempts),
		backoff.WithMaxElapsedTime(c.cfg.MaxElapsed),
		backoff.WithNotify(func(err error, wait time.Duration) {
			c.log.Info("mode request retried", "method", method, "path", u.Path, "wait", wait, "err", err)
		}))
	return err
}

// roundTrip performs one HTTP exchange and classifies failures: 429 and
// 5xx (and transport errors) are retryable, other statuses permanent.
func (c *Client) roundTrip(ctx context.Context, method, rawURL, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, backoff.Permanent(err)
	}
	req.SetBasicAuth(c.cfg.Token, c.cfg.Secret)
	req.Header.Set("Accept", "application/hal+json")
	req.Header.Set("User-Agent", "sluice-metapipeline")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, backoff.Permanent(ctx.Err())
		}
		// url.Error carries the URL, which holds no credentials (they
		// travel in the Authorization header).
		return nil, fmt.Errorf("mode: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("mode: %s %s: reading response: %w", method, path, err)
	}
	if resp.StatusCode < 300 {
		return body, nil
	}
	apiErr := &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: errorMessage(body)}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		apiErr.Err = ErrUnauthorized
	case resp.StatusCode == http.StatusForbidden:
		apiErr.Err = ErrForbidden
	case resp.StatusCode == http.StatusNotFound:
		apiErr.Err = ErrNotFound
	case resp.StatusCode == http.StatusTooManyRequests:
		apiErr.Err = ErrRateLimited
	case resp.StatusCode >= 500:
		apiErr.Err = ErrServer
	}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return nil, backoff.Permanent(apiErr)
	}
	if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return nil, fmt.Errorf("%w (%w)", apiErr, &backoff.RetryAfterError{Duration: wait})
	}
	return nil, apiErr
}

// retryAfter parses Retry-After: delay seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// errorMessage pulls Mode's {"message": ...} out of an error body, bounded.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			return truncate(e.Message, 200)
		}
		if e.Error != "" {
			return truncate(e.Error, 200)
		}
	}
	return truncate(string(bytes.TrimSpace(body)), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// list pages through a HAL list: ?page=1, 2, ... until a page is shorter
// than PageSize. decode receives each page's `_embedded[key]` array and
// returns the tokens of its items; a page that brings no new token ends the
// walk too (a server that ignores ?page would otherwise loop forever).
func (c *Client) list(ctx context.Context, path string, query url.Values, key string, decode func(json.RawMessage) ([]string, error)) error {
	seen := map[string]bool{}
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(page))
		var doc struct {
			Embedded map[string]json.RawMessage `json:"_embedded"`
		}
		if err := c.do(ctx, http.MethodGet, path, q, &doc); err != nil {
			return err
		}
		raw := doc.Embedded[key]
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		tokens, err := decode(raw)
		if err != nil {
			return fmt.Errorf("mode: GET %s page %d: %w", path, page, err)
		}
		fresh := 0
		for _, t := range tokens {
			if !seen[t] {
				seen[t] = true
				fresh++
			}
		}
		if len(tokens) < c.cfg.PageSize || fresh == 0 {
			return nil
		}
	}
}

// Spaces lists every space of the workspace (?filter=all).
func (c *Client) Spaces(ctx context.Context) ([]Space, error) {
	var out []Space
	err := c.list(ctx, "/spaces", url.Values{"filter": {"all"}}, "spaces", func(raw json.RawMessage) ([]string, error) {
		var page []Space
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, err
		}
		tokens := make([]string, len(page))
		for i, s := range page {
			tokens[i] = s.Token
		}
		out = appendNew(out, page, func(s Space) string { return s.Token })
		return tokens, nil
	})
	return out, err
}

// Reports lists the reports of a space.
func (c *Client) Reports(ctx context.Context, space string) ([]Report, error) {
	var out []Report
	err := c.list(ctx, "/spaces/"+url.PathEscape(space)+"/reports", nil, "reports", func(raw json.RawMessage) ([]string, error) {
		var page []reportJSON
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, err
		}
		tokens := make([]string, len(page))
		reports := make([]Report, len(page))
		for i := range page {
			tokens[i] = page[i].Token
			reports[i] = page[i].report()
			if reports[i].SpaceToken == "" {
				reports[i].SpaceToken = space
			}
		}
		out = appendNew(out, reports, func(r Report) string { return r.Token })
		return tokens, nil
	})
	return out, err
}

// Queries lists a report's queries with their SQL.
func (c *Client) Queries(ctx context.Context, report string) ([]Query, error) {
	var out []Query
	err := c.list(ctx, "/reports/"+url.PathEscape(report)+"/queries", nil, "queries", func(raw json.RawMessage) ([]string, error) {
		var page []queryJSON
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, err
		}
		tokens := make([]string, len(page))
		queries := make([]Query, len(page))
		for i := range page {
			tokens[i] = page[i].Token
			queries[i] = page[i].query(report)
		}
		out = appendNew(out, queries, func(q Query) string { return q.Token })
		return tokens, nil
	})
	return out, err
}

// ArchiveReport archives a report (PATCH /{workspace}/reports/{token}/archive).
// Archiving an archived report succeeds.
func (c *Client) ArchiveReport(ctx context.Context, token string) error {
	if token == "" {
		return errors.New("mode: archive: empty report token")
	}
	return c.do(ctx, http.MethodPatch, "/reports/"+url.PathEscape(token)+"/archive", nil, nil)
}

// DeleteReport deletes a report (DELETE /{workspace}/reports/{token}), the
// second phase after archiving. A report already gone counts as deleted:
// a retry after a lost answer must not fail the clean-up.
func (c *Client) DeleteReport(ctx context.Context, token string) error {
	if token == "" {
		return errors.New("mode: delete: empty report token")
	}
	err := c.do(ctx, http.MethodDelete, "/reports/"+url.PathEscape(token), nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// appendNew appends the items whose key is not in dst yet.
func appendNew[T any](dst, items []T, key func(T) string) []T {
	have := make(map[string]bool, len(dst))
	for _, x := range dst {
		have[key(x)] = true
	}
	for _, x := range items {
		if k := key(x); !have[k] {
			have[k] = true
			dst = append(dst, x)
		}
	}
	return dst
}
