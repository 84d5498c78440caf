package flags

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

// MetaFromEnv reads the metapipeline analysis settings from the
// environment: the same variables for `run`, `serve`, `console`,
// `meta analyze` and `meta run`. The Mode credentials are not here: they
// are secrets, read by the caller from mode.EnvToken and mode.EnvSecret.
func MetaFromEnv(getenv func(string) string) (meta.Config, error) {
	cfg := meta.Config{
		Manifest:      getenv("DBT_MANIFEST"),
		RunResults:    getenv("DBT_RUN_RESULTS"),
		ModeURL:       getenv("MODE_URL"),
		ModeWorkspace: getenv("MODE_WORKSPACE"),
		ExposuresPath: getenv("SLUICE_META_EXPOSURES_PATH"),
		Timeout:       strings.TrimSpace(getenv("SLUICE_META_TIMEOUT")),
		Keep: lineage.KeepRules{
			Tags:   splitList(getenv("SLUICE_META_KEEP_TAGS")),
			Paths:  splitList(getenv("SLUICE_META_KEEP_PATHS")),
			Models: splitList(getenv("SLUICE_META_KEEP_MODELS")),
		},
	}
	var errs []error
	if v, ok := nonEmpty(getenv, "SLUICE_META_STALE_DAYS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("SLUICE_META_STALE_DAYS=%q: want a number of days", v))
		}
		cfg.StaleAfterDays = n
	}
	for _, b := range []struct {
		name string
		p    *bool
	}{{"SLUICE_META_INCLUDE_PACKAGES", &cfg.IncludePackages}, {"SLUICE_META_LOOSE", &cfg.LooseMatching}} {
		name, p := b.name, b.p
		if v, ok := nonEmpty(getenv, name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			}
			*p = b
		}
	}
	if cfg.Timeout != "" {
		if d, err := time.ParseDuration(cfg.Timeout); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("SLUICE_META_TIMEOUT=%q: want a positive duration such as 90s", cfg.Timeout))
		}
	}
	return cfg, errors.Join(errs...)
}

// RegisterMeta adds the analysis flags to fs with cfg's values (the
// environment's) as defaults. The keep lists are repeatable, take
// comma-separated values and add to the environment's lists.
func RegisterMeta(fs *flag.FlagSet, cfg *meta.Config) {
	fs.StringVar(&cfg.Manifest, "manifest", cfg.Manifest, "dbt target/manifest.json (schema v10-v12); enables the metapipeline (env DBT_MANIFEST)")
	fs.StringVar(&cfg.RunResults, "run-results", cfg.RunResults, "folder of archived dbt run_results.json files, for runtimes and the models run per day (env DBT_RUN_RESULTS)")
	fs.StringVar(&cfg.ModeURL, "mode-url", cfg.ModeURL, "Mode API root, default "+mode.DefaultBaseURL+" (env MODE_URL)")
	fs.StringVar(&cfg.ModeWorkspace, "mode-workspace", cfg.ModeWorkspace, "Mode workspace whose reports are read and archived; credentials from "+mode.EnvToken+" and "+mode.EnvSecret+"; without it the analysis runs on dbt alone (env MODE_WORKSPACE)")
	fs.IntVar(&cfg.StaleAfterDays, "stale-days", cfg.StaleAfterDays, "a Mode report not run for more than N days is stale; 0: 100 (env SLUICE_META_STALE_DAYS)")
	fs.Var(&repeatedList{p: &cfg.Keep.Tags}, "keep-tag", "never propose dbt models with this tag; repeatable or comma-separated (env SLUICE_META_KEEP_TAGS)")
	fs.Var(&repeatedList{p: &cfg.Keep.Paths}, "keep-path", "never propose models whose file matches this glob, ** spans folders; repeatable or comma-separated (env SLUICE_META_KEEP_PATHS)")
	fs.Var(&repeatedList{p: &cfg.Keep.Models}, "keep-model", "never propose this model (name or unique_id); repeatable or comma-separated (env SLUICE_META_KEEP_MODELS)")
	fs.BoolVar(&cfg.IncludePackages, "include-packages", cfg.IncludePackages, "propose installed packages' models too (env SLUICE_META_INCLUDE_PACKAGES)")
	fs.BoolVar(&cfg.LooseMatching, "loose", cfg.LooseMatching, "match schema.table references by table name when the schema differs (env SLUICE_META_LOOSE)")
	fs.StringVar(&cfg.ExposuresPath, "exposures-path", cfg.ExposuresPath, "where the generated exposures file lives in the dbt project (env SLUICE_META_EXPOSURES_PATH)")
	fs.Func("meta-timeout", "give up on one analysis after this duration; default 60s (env SLUICE_META_TIMEOUT)", metaTimeout(cfg))
}

// RegisterMetaTimeoutAlias adds --timeout, the one-shot commands' older
// name of --meta-timeout.
func RegisterMetaTimeoutAlias(fs *flag.FlagSet, cfg *meta.Config) {
	fs.Func("timeout", "same as --meta-timeout", metaTimeout(cfg))
}

func metaTimeout(cfg *meta.Config) func(string) error {
	return func(s string) error {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration", s)
		}
		cfg.Timeout = strings.TrimSpace(s)
		return nil
	}
}

// repeatedList is a repeatable, comma-separated list flag that adds to
// its default (the environment's): a keep rule given on the command line
// never drops one the environment set.
type repeatedList struct{ p *[]string }

func (l *repeatedList) String() string {
	if l == nil || l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l *repeatedList) Set(s string) error {
	*l.p = append(*l.p, splitList(s)...)
	return nil
}
