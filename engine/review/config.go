package review

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-dev/sluice/engine/clock"
)

// Config says where branches are built and where they go.
type Config struct {
	// StateDir is the engine's state dir; the scratch clones live in
	// StateDir/review.
	StateDir string
	// Repo is the dbt repository: a local checkout (only ever read) or a
	// remote URL. Archive items work without it.
	Repo string
	// Remote is where branches are pushed. Default: Repo when it is a URL,
	// else the local checkout's origin.
	Remote string
	// ProjectDir is the dbt project's folder inside the repository ("" for
	// the root); the manifest's paths are relative to it.
	ProjectDir string
	// BaseBranch is the branch proposals start from and pull requests
	// target. Default: the remote's HEAD branch, else main, else master.
	BaseBranch string

	// Token authenticates pushes over HTTPS and the GitHub API (GITHUB_TOKEN).
	// It is never logged nor stored, and goes only to GitHub's hosts
	// (github.com, api.github.com, GitHubAPIURL's host, TokenHosts) over
	// HTTPS; git remotes get it only after asking (401).
	Token string
	// TokenHosts are further host names the token may be sent to: a push
	// remote on a host other than the API's, explicitly allowed.
	TokenHosts []string
	// Secrets are further values never stored in review history (the Mode
	// token and secret): redacted, encoded forms included, like Token.
	Secrets []string
	// AllowHTTPLoopback lets the token travel over plain HTTP to loopback
	// addresses: for test servers, never for a real remote.
	AllowHTTPLoopback bool
	// SSHKeyPath is a private key for SSH remotes; default: the SSH agent.
	SSHKeyPath       string
	SSHKeyPassphrase string

	// GitHubAPIURL is the REST API root (default https://api.github.com/;
	// GitHub Enterprise: https://HOST/api/v3/).
	GitHubAPIURL string
	// GitHubRepo is "owner/repo". Default: parsed from the push remote's URL
	// when it is on github.com or GitHubAPIURL is set. Without one, approving
	// pushes the branch and stops there.
	GitHubRepo string
	// Draft opens pull requests as drafts.
	Draft bool
	// HTTPClient is used for the GitHub API; nil uses a client with a timeout.
	HTTPClient *http.Client

	// MaxDeleteFraction caps the share of the project's models one
	// deprecation branch may delete (default DefaultMaxDeleteFraction; 1
	// lifts the cap): a proposal above it is refused, not staged.
	MaxDeleteFraction float64

	// ReconsiderDays is how long the models of a pull request closed
	// unmerged are not proposed again (default DefaultReconsiderDays).
	ReconsiderDays int

	// DeprecateMode is how a deprecation's first phase takes the unused
	// models out of the project: DeprecateDisable (default: set
	// deprecation_date and `config: enabled: false` in their properties
	// YAML), DeprecateFolder (move their files to a deprecated/ folder,
	// disabled in place), or DeprecateDelete (one phase: delete them now).
	DeprecateMode string
	// QuietDays is how long after the first phase's pull request merged (or
	// the reports were archived), with no new consumer, the deletion is
	// proposed (default DefaultQuietDays).
	QuietDays int

	// DBTBin is the dbt executable that runs `dbt parse` on every staged
	// branch (default: dbt on PATH; none: no dbt parse).
	DBTBin string

	// ApprovedFrom says where approvals come from ("the console", "the
	// command line"), for the pull request's description. Empty: Sluice.
	ApprovedFrom string

	// Archiver archives BI reports; nil leaves archive items unapprovable.
	Archiver ReportArchiver

	// AuthorName and AuthorEmail sign sluice's commits (default "Sluice
	// <sluice@localhost>").
	AuthorName, AuthorEmail string

	// Clock stamps items and decisions; branch names carry its date. nil
	// is the real clock.
	Clock clock.Clock
	// PollInterval is how often a started service rereads the store to
	// pick up changes made by other processes (the CLI). Default 5s.
	PollInterval time.Duration
}

// ReportArchiver archives one BI report. The metapipeline's Mode client
// satisfies it.
type ReportArchiver interface {
	ArchiveReport(ctx context.Context, token string) error
}

// ReportDeleter deletes one BI report, the second phase after archiving.
// An Archiver that also implements it (the Mode client does) is used.
type ReportDeleter interface {
	DeleteReport(ctx context.Context, token string) error
}

// DefaultMaxDeleteFraction is MaxDeleteFraction's default.
const DefaultMaxDeleteFraction = 0.2

func (c *Config) maxDeleteFraction() float64 {
	if c.MaxDeleteFraction <= 0 {
		return DefaultMaxDeleteFraction
	}
	return c.MaxDeleteFraction
}

// DefaultReconsiderDays is ReconsiderDays' default.
const DefaultReconsiderDays = 30

func (c *Config) reconsider() time.Duration {
	d := c.ReconsiderDays
	if d <= 0 {
		d = DefaultReconsiderDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// Deprecation modes.
const (
	DeprecateDisable = "disable"
	DeprecateFolder  = "folder"
	DeprecateDelete  = "delete"
)

// DefaultQuietDays is QuietDays' default.
const DefaultQuietDays = 30

func (c *Config) quiet() time.Duration {
	d := c.QuietDays
	if d <= 0 {
		d = DefaultQuietDays
	}
	return time.Duration(d) * 24 * time.Hour
}

func (c *Config) deprecateMode() string {
	if c.DeprecateMode == "" {
		return DeprecateDisable
	}
	return c.DeprecateMode
}

// ValidDeprecateMode reports whether m names a deprecation mode ("" is the
// default).
func ValidDeprecateMode(m string) bool {
	return m == "" || m == DeprecateDisable || m == DeprecateFolder || m == DeprecateDelete
}

func (c *Config) now() time.Time { return clock.Or(c.Clock).Now() }
