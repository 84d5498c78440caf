package flags

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/engine/review"
)

// ReviewEnvHelp documents the environment ReviewFromEnv reads, for --help
// texts.
const ReviewEnvHelp = `Environment: DBT_REPO (dbt repository: a local checkout, only ever read, or
a URL), DBT_REMOTE (where branches are pushed; default the checkout's origin),
DBT_PROJECT_DIR, DBT_BASE_BRANCH, GITHUB_TOKEN (HTTPS pushes and the GitHub
API; never logged), GITHUB_REPOSITORY (owner/repo), GITHUB_API_URL (GitHub
Enterprise), GITHUB_TOKEN_HOSTS (comma-separated further hosts the token may
go to), SLUICE_GITHUB_HTTP_LOOPBACK (send the token over plain HTTP to
loopback test servers), SLUICE_PR_DRAFT, SLUICE_SSH_KEY (default: the SSH
agent), SLUICE_MAX_DELETE_FRACTION (default 0.2), SLUICE_RECONSIDER_DAYS
(default 30), SLUICE_DEPRECATE_MODE (disable, folder or delete; default
disable), SLUICE_QUIET_DAYS (default 30), SLUICE_DBT_BIN.
Flags win over the environment.
`

// reviewFlagEnv names the variable behind each of RegisterReview's flags.
var reviewFlagEnv = map[string]string{
	"repo": "DBT_REPO", "remote": "DBT_REMOTE", "project-dir": "DBT_PROJECT_DIR", "base": "DBT_BASE_BRANCH",
	"github-repo": "GITHUB_REPOSITORY", "github-api-url": "GITHUB_API_URL", "draft": "SLUICE_PR_DRAFT",
	"ssh-key": "SLUICE_SSH_KEY", "max-delete-fraction": "SLUICE_MAX_DELETE_FRACTION",
	"dbt-bin": "SLUICE_DBT_BIN", "github-token-hosts": "GITHUB_TOKEN_HOSTS", "reconsider-days": "SLUICE_RECONSIDER_DAYS",
	"deprecate-mode": "SLUICE_DEPRECATE_MODE", "quiet-days": "SLUICE_QUIET_DAYS",
}

// ReviewFromEnv reads the review settings from the environment (see
// ReviewEnvHelp). StateDir, Archiver and the clock are the caller's to set.
func ReviewFromEnv(getenv func(string) string) (review.Config, error) {
	cfg := review.Config{
		Repo:         getenv("DBT_REPO"),
		Remote:       getenv("DBT_REMOTE"),
		ProjectDir:   getenv("DBT_PROJECT_DIR"),
		BaseBranch:   getenv("DBT_BASE_BRANCH"),
		Token:        getenv("GITHUB_TOKEN"),
		GitHubRepo:   getenv("GITHUB_REPOSITORY"),
		GitHubAPIURL: getenv("GITHUB_API_URL"),
		DBTBin:       getenv("SLUICE_DBT_BIN"),
		SSHKeyPath:   getenv("SLUICE_SSH_KEY"),
		TokenHosts:   splitList(getenv("GITHUB_TOKEN_HOSTS")),
	}
	if v := getenv("SLUICE_GITHUB_HTTP_LOOPBACK"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("SLUICE_GITHUB_HTTP_LOOPBACK=%q: want true or false", v)
		}
		cfg.AllowHTTPLoopback = b
	}
	if v := getenv("SLUICE_MAX_DELETE_FRACTION"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			return cfg, fmt.Errorf("SLUICE_MAX_DELETE_FRACTION=%q: want a share between 0 and 1", v)
		}
		cfg.MaxDeleteFraction = f
	}
	if v := getenv("SLUICE_RECONSIDER_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("SLUICE_RECONSIDER_DAYS=%q: want a number of days", v)
		}
		cfg.ReconsiderDays = n
	}
	if v := getenv("SLUICE_DEPRECATE_MODE"); v != "" {
		if !review.ValidDeprecateMode(v) {
			return cfg, fmt.Errorf("SLUICE_DEPRECATE_MODE=%q: want disable, folder or delete", v)
		}
		cfg.DeprecateMode = v
	}
	if v := getenv("SLUICE_QUIET_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("SLUICE_QUIET_DAYS=%q: want a number of days", v)
		}
		cfg.QuietDays = n
	}
	if v := getenv("SLUICE_PR_DRAFT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("SLUICE_PR_DRAFT=%q: want true or false", v)
		}
		cfg.Draft = b
	}
	return cfg, nil
}

// RegisterReview adds the review settings to fs, with cfg's values (the
// environment's) as defaults. The token has no flag: flags show up in
// process listings.
func RegisterReview(fs *flag.FlagSet, cfg *review.Config) {
	fs.StringVar(&cfg.Repo, "repo", cfg.Repo, "dbt repository: a local checkout (only read) or a URL")
	fs.StringVar(&cfg.Remote, "remote", cfg.Remote, "push branches here (default: the checkout's origin)")
	fs.StringVar(&cfg.ProjectDir, "project-dir", cfg.ProjectDir, "dbt project folder inside the repository")
	fs.StringVar(&cfg.BaseBranch, "base", cfg.BaseBranch, "base branch (default: the remote's HEAD, main or master)")
	fs.StringVar(&cfg.GitHubRepo, "github-repo", cfg.GitHubRepo, "GitHub owner/repo for pull requests (default: from the remote URL)")
	fs.StringVar(&cfg.GitHubAPIURL, "github-api-url", cfg.GitHubAPIURL, "GitHub REST API root (GitHub Enterprise, tests)")
	fs.Var(listValue{&cfg.TokenHosts}, "github-token-hosts", "comma-separated further hosts the GitHub token may be sent to, beyond GitHub's and the API URL's (a push remote elsewhere)")
	fs.BoolVar(&cfg.Draft, "draft", cfg.Draft, "open pull requests as drafts")
	fs.Float64Var(&cfg.MaxDeleteFraction, "max-delete-fraction", cfg.MaxDeleteFraction, "refuse to stage a branch deleting more than this share of the project's models (default 0.2; 1: no cap)")
	fs.IntVar(&cfg.ReconsiderDays, "reconsider-days", cfg.ReconsiderDays, "do not propose again, for this many days, the models of a pull request closed unmerged (default 30)")
	fs.StringVar(&cfg.DeprecateMode, "deprecate-mode", cfg.DeprecateMode, "how unused models are first taken out: disable (deprecation_date + enabled: false in their YAML; default), folder (moved to a deprecated/ folder, disabled) or delete (at once, one phase)")
	fs.IntVar(&cfg.QuietDays, "quiet-days", cfg.QuietDays, "propose deleting disabled models (and archived reports) this many days after the first phase merged, if no new consumer appeared (default 30)")
	fs.StringVar(&cfg.DBTBin, "dbt-bin", cfg.DBTBin, "dbt executable that runs `dbt parse` on each staged branch (default: dbt on PATH)")
	fs.StringVar(&cfg.SSHKeyPath, "ssh-key", cfg.SSHKeyPath, "SSH private key for SSH remotes (default: the SSH agent)")
}

// NameReviewEnv appends "(env NAME)" to the usage of each review flag on
// fs: the engine commands say so for every flag, and a config file ranks
// under the environment only for flags that name their variable.
func NameReviewEnv(fs *flag.FlagSet) {
	for name, envName := range reviewFlagEnv {
		if f := fs.Lookup(name); f != nil && !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + envName + ")"
		}
	}
}
