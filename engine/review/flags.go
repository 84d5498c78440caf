package review

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// EnvHelp documents the environment ConfigFromEnv reads, for --help texts.
const EnvHelp = `Environment: DBT_REPO (dbt repository: a local checkout, only ever read, or
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

// ConfigFromEnv reads the review settings from the environment (see
// EnvHelp). StateDir, Archiver and the clock are the caller's to set.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Repo:         getenv("DBT_REPO"),
		Remote:       getenv("DBT_REMOTE"),
		ProjectDir:   getenv("DBT_PROJECT_DIR"),
		BaseBranch:   getenv("DBT_BASE_BRANCH"),
		Token:        getenv("GITHUB_TOKEN"),
		GitHubRepo:   getenv("GITHUB_REPOSITORY"),
		GitHubAPIURL: getenv("GITHUB_API_URL"),
		DBTBin:       getenv("SLUICE_DBT_BIN"),
		SSHKeyPath:   getenv("SLUICE_SSH_KEY"),
	}
	for _, h := range strings.Split(getenv("GITHUB_TOKEN_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.TokenHosts = append(cfg.TokenHosts, h)
		}
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
		if !ValidDeprecateMode(v) {
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

// RegisterFlags adds the review settings to fs, with cfg's values (the
// environment's) as defaults. The token has no flag: flags show up in
// process listings.
func RegisterFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Repo, "repo", cfg.Repo, "dbt repository: a local checkout (only read) or a URL")
	fs.StringVar(&cfg.Remote, "remote", cfg.Remote, "push branches here (default: the checkout's origin)")
	fs.StringVar(&cfg.ProjectDir, "project-dir", cfg.ProjectDir, "dbt project folder inside the repository")
	fs.StringVar(&cfg.BaseBranch, "base", cfg.BaseBranch, "base branch (default: the remote's HEAD, main or master)")
	fs.StringVar(&cfg.GitHubRepo, "github-repo", cfg.GitHubRepo, "GitHub owner/repo for pull requests (default: from the remote URL)")
	fs.StringVar(&cfg.GitHubAPIURL, "github-api-url", cfg.GitHubAPIURL, "GitHub REST API root (GitHub Enterprise, tests)")
	fs.BoolVar(&cfg.Draft, "draft", cfg.Draft, "open pull requests as drafts")
	fs.Float64Var(&cfg.MaxDeleteFraction, "max-delete-fraction", cfg.MaxDeleteFraction, "refuse to stage a branch deleting more than this share of the project's models (default 0.2; 1: no cap)")
	fs.IntVar(&cfg.ReconsiderDays, "reconsider-days", cfg.ReconsiderDays, "do not propose again, for this many days, the models of a pull request closed unmerged (default 30)")
	fs.StringVar(&cfg.DeprecateMode, "deprecate-mode", cfg.DeprecateMode, "how unused models are first taken out: disable (deprecation_date + enabled: false in their YAML; default), folder (moved to a deprecated/ folder, disabled) or delete (at once, one phase)")
	fs.IntVar(&cfg.QuietDays, "quiet-days", cfg.QuietDays, "propose deleting disabled models (and archived reports) this many days after the first phase merged, if no new consumer appeared (default 30)")
	fs.StringVar(&cfg.DBTBin, "dbt-bin", cfg.DBTBin, "dbt executable that runs `dbt parse` on each staged branch (default: dbt on PATH)")
	fs.StringVar(&cfg.SSHKeyPath, "ssh-key", cfg.SSHKeyPath, "SSH private key for SSH remotes (default: the SSH agent)")
}
