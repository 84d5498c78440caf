package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v66/github"
)

// PullRequest is what approving a branch item posts to GitHub.
type PullRequest struct {
	Owner, Repo string
	Title       string
	Head, Base  string
	Body        string
	Draft       bool
	// Warning is what a dry run found at GitHub that would make opening
	// the pull request fail (the token refused, the repository not
	// visible, the API unreachable); empty when it looks fine.
	Warning string
}

// OpenedPR is the pull request GitHub answered with (or the one that
// already existed for the branch).
type OpenedPR struct {
	Number  int
	URL     string
	Existed bool
}

// githubClient opens pull requests through the GitHub REST API.
type githubClient struct {
	gh *github.Client
}

func newGitHubClient(cfg *Config) (*githubClient, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	withToken := *hc
	withToken.Transport = &tokenTransport{cfg: cfg, base: base}
	gh := github.NewClient(&withToken)
	if cfg.GitHubAPIURL != "" {
		u, err := url.Parse(strings.TrimRight(cfg.GitHubAPIURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("parsing GitHub API URL: %w", err)
		}
		gh.BaseURL = u
	}
	return &githubClient{gh: gh}, nil
}

// open posts the pull request. When GitHub answers 422 because one already
// exists for the branch, that one is looked up and returned, so retrying an
// approval is harmless.
func (c *githubClient) open(ctx context.Context, pr PullRequest) (OpenedPR, error) {
	got, _, err := c.gh.PullRequests.Create(ctx, pr.Owner, pr.Repo, &github.NewPullRequest{
		Title: github.String(pr.Title),
		Head:  github.String(pr.Head),
		Base:  github.String(pr.Base),
		Body:  github.String(pr.Body),
		Draft: github.Bool(pr.Draft),
	})
	if err == nil {
		return OpenedPR{Number: got.GetNumber(), URL: got.GetHTMLURL()}, nil
	}
	if !prAlreadyExists(err) {
		return OpenedPR{}, describeGitHubError(pr, err)
	}
	open, _, lerr := c.gh.PullRequests.List(ctx, pr.Owner, pr.Repo, &github.PullRequestListOptions{
		State: "open",
		Head:  pr.Owner + ":" + pr.Head,
	})
	if lerr != nil {
		return OpenedPR{}, fmt.Errorf("%w; looking it up: %w", ErrPRExists, describeGitHubError(pr, lerr))
	}
	if len(open) == 0 {
		return OpenedPR{}, fmt.Errorf("%w but none is open for %s:%s", ErrPRExists, pr.Owner, pr.Head)
	}
	return OpenedPR{Number: open[0].GetNumber(), URL: open[0].GetHTMLURL(), Existed: true}, nil
}

// check asks GitHub for the pull request's repository, with the token the
// approval would use: what a dry run can know of the request it would
// post without posting it. It returns why opening would fail, or "".
func (c *githubClient) check(ctx context.Context, pr PullRequest) string {
	repo, _, err := c.gh.Repositories.Get(ctx, pr.Owner, pr.Repo)
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &er):
		return "the pull request would not open: " + describeGitHubError(pr, err).Error()
	case err != nil:
		return "the pull request would not open: cannot reach the GitHub API: " + err.Error()
	}
	// Permissions come back for an authenticated caller; without push a
	// pull request from a branch of the repository is refused.
	if perms := repo.Permissions; perms != nil && !perms["push"] {
		return fmt.Sprintf("the pull request would not open: the token cannot write to %s/%s", pr.Owner, pr.Repo)
	}
	return ""
}

func prAlreadyExists(err error) bool {
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if strings.Contains(strings.ToLower(e.Message), "already exists") {
			return true
		}
	}
	return strings.Contains(strings.ToLower(er.Message), "already exists")
}

// describeGitHubError turns an API error into a sentence an operator can
// act on. go-github's messages carry the request URL but never the token.
func describeGitHubError(pr PullRequest, err error) error {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("GitHub refused the token (401 %s): check GITHUB_TOKEN: %w", er.Message, err)
		case http.StatusForbidden:
			return fmt.Errorf("GitHub forbids opening pull requests on %s/%s with this token (403 %s): %w", pr.Owner, pr.Repo, er.Message, err)
		case http.StatusNotFound:
			return fmt.Errorf("GitHub repository %s/%s not found, or the token cannot see it (404): %w", pr.Owner, pr.Repo, err)
		}
	}
	// The caller says what was being done ("opening the pull request").
	return fmt.Errorf("%s/%s: %w", pr.Owner, pr.Repo, err)
}

// githubRepoFromURL reads owner/repo from a remote URL:
// https://github.com/o/r(.git), git@github.com:o/r.git, ssh://git@host/o/r.git.
// anyHost accepts hosts other than github.com (GitHub Enterprise).
func githubRepoFromURL(remote string, anyHost bool) (owner, repo string, ok bool) {
	var host, p string
	switch {
	case strings.Contains(remote, "://"):
		u, err := url.Parse(remote)
		if err != nil || u.Scheme == "file" {
			return "", "", false
		}
		host, p = u.Hostname(), u.Path
	case scpLike.MatchString(remote):
		at := strings.Index(remote, "@")
		colon := strings.Index(remote, ":")
		host, p = remote[at+1:colon], remote[colon+1:]
	default:
		return "", "", false
	}
	if !anyHost && !strings.EqualFold(host, "github.com") {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(p, ".git"), "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return "", "", false
	}
	return parts[len(parts)-2], parts[len(parts)-1], true
}
