package flags

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestReviewFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DBT_REPO": "/src/dbt", "GITHUB_TOKEN": "ghp_x", "GITHUB_TOKEN_HOSTS": "git.example, ,ghe.example",
		"SLUICE_GITHUB_HTTP_LOOPBACK": "true", "SLUICE_MAX_DELETE_FRACTION": "0.5", "SLUICE_PR_DRAFT": "1", "SLUICE_DBT_BIN": "/opt/dbt",
	}
	cfg, err := ReviewFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Repo != "/src/dbt" || cfg.Token != "ghp_x" || strings.Join(cfg.TokenHosts, "|") != "git.example|ghe.example" ||
		!cfg.AllowHTTPLoopback || cfg.MaxDeleteFraction != 0.5 || !cfg.Draft || cfg.DBTBin != "/opt/dbt" {
		t.Errorf("from env: %+v", cfg)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterReview(fs, &cfg)
	NameReviewEnv(fs)
	if err := fs.Parse([]string{"--repo", "https://git.example/dbt.git", "--github-token-hosts", "only.example", "--max-delete-fraction", "1", "--dbt-bin", ""}); err != nil {
		t.Fatal(err)
	}
	if cfg.Repo != "https://git.example/dbt.git" || strings.Join(cfg.TokenHosts, "|") != "only.example" || cfg.MaxDeleteFraction != 1 || cfg.DBTBin != "" {
		t.Errorf("flags did not win: %+v", cfg)
	}
	if fs.Lookup("token") != nil || fs.Lookup("github-token") != nil {
		t.Error("a token flag would leak into process listings")
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, "(env ") {
			t.Errorf("--%s names no variable", f.Name)
		}
	})
	for name, v := range map[string]string{
		"SLUICE_GITHUB_HTTP_LOOPBACK": "perhaps", "SLUICE_MAX_DELETE_FRACTION": "1.5", "SLUICE_PR_DRAFT": "maybe",
	} {
		if _, err := ReviewFromEnv(func(k string) string { return map[string]string{name: v}[k] }); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, v, err)
		}
	}
}
