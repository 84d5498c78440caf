package flags

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestMetaFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DBT_MANIFEST":                 "target/manifest.json",
		"SLUICE_META_KEEP_TAGS":        "finance, pii",
		"SLUICE_META_KEEP_PATHS":       "models/legacy/**",
		"SLUICE_META_KEEP_MODELS":      "orders",
		"SLUICE_META_STALE_DAYS":       "30",
		"SLUICE_META_INCLUDE_PACKAGES": "true",
		"SLUICE_META_LOOSE":            "1",
		"SLUICE_META_TIMEOUT":          "90s",
		"SLUICE_META_EXPOSURES_PATH":   "models/exposures.yml",
	}
	cfg, err := MetaFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Keep.Tags, []string{"finance", "pii"}) || cfg.Keep.Paths[0] != "models/legacy/**" ||
		cfg.Keep.Models[0] != "orders" || cfg.StaleAfterDays != 30 || !cfg.IncludePackages || !cfg.LooseMatching ||
		cfg.Timeout != "90s" || cfg.ExposuresPath != "models/exposures.yml" || cfg.Manifest != "target/manifest.json" {
		t.Fatalf("from the environment: %+v", cfg)
	}

	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	RegisterMeta(fs, &cfg)
	// --keep-tag adds to the environment's list (a keep rule is never
	// dropped); a comma-separated value (a config file's list) is several.
	if err := fs.Parse([]string{"--keep-tag", "a,b", "--keep-tag", "c", "--meta-timeout", "2m", "--loose=false"}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Keep.Tags, []string{"finance", "pii", "a", "b", "c"}) || cfg.Timeout != "2m" || cfg.LooseMatching {
		t.Fatalf("after flags: tags %q, timeout %q, loose %v", cfg.Keep.Tags, cfg.Timeout, cfg.LooseMatching)
	}
	if !reflect.DeepEqual(cfg.Keep.Paths, []string{"models/legacy/**"}) {
		t.Fatalf("an unset list flag kept %q, want the environment's", cfg.Keep.Paths)
	}
	if err := fs.Parse([]string{"--meta-timeout", "0s"}); err == nil {
		t.Fatal("--meta-timeout 0s accepted")
	}
	// Every flag names its variable, so a config file ranks under it.
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, "(env ") {
			t.Errorf("--%s names no environment variable", f.Name)
		}
	})
}

func TestMetaFromEnvRefusesBadValues(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"SLUICE_META_STALE_DAYS":       "soon",
		"SLUICE_META_LOOSE":            "maybe",
		"SLUICE_META_INCLUDE_PACKAGES": "2",
		"SLUICE_META_TIMEOUT":          "-1s",
	} {
		_, err := MetaFromEnv(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, value, err)
		}
	}
}
