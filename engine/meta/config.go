package meta

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice/engine/meta/exposures"
	"github.com/sluice-dev/sluice/engine/meta/lineage"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/meta/stale"
)

// Config is the metapipeline's configuration as a file, flags or a run
// config give it. Credentials are not part of it (the command reads them
// from the environment) so they are never stored with it.
type Config struct {
	Manifest   string `json:"manifest"`
	RunResults string `json:"run_results,omitempty"`
	// ModeWorkspace enables Mode; ModeURL defaults to mode.DefaultBaseURL.
	ModeURL         string `json:"mode_url,omitempty"`
	ModeWorkspace   string `json:"mode_workspace,omitempty"`
	ModeConcurrency int    `json:"mode_concurrency,omitempty"`
	// Stale-report thresholds; zero values take the defaults (100 days
	// without a run; runs < 5 and views < 5 after 60 days).
	StaleAfterDays  int `json:"stale_after_days,omitempty"`
	LowUsageRuns    int `json:"low_usage_runs,omitempty"`
	LowUsageViews   int `json:"low_usage_views,omitempty"`
	LowUsageMinDays int `json:"low_usage_min_days,omitempty"`

	Keep            lineage.KeepRules `json:"keep,omitempty"`
	IncludePackages bool              `json:"include_packages,omitempty"`
	LooseMatching   bool              `json:"loose_matching,omitempty"`
	ExposuresPath   string            `json:"exposures_path,omitempty"`
	ExposuresOwner  string            `json:"exposures_owner_email,omitempty"`
	// Timeout bounds one analysis, a Go duration ("90s"); default 60s.
	Timeout string `json:"timeout,omitempty"`
}

// Merge overlays the non-zero fields of a run config (JSON) on c.
func (c Config) Merge(raw json.RawMessage) (Config, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("metapipeline run config: %w", err)
	}
	return c, nil
}

// Rules returns the stale thresholds with defaults filled in.
func (c Config) Rules() stale.Rules {
	r := stale.DefaultRules()
	const day = 24 * time.Hour
	if c.StaleAfterDays > 0 {
		r.NotRunFor = time.Duration(c.StaleAfterDays) * day
	}
	if c.LowUsageRuns > 0 {
		r.MinRuns = c.LowUsageRuns
	}
	if c.LowUsageViews > 0 {
		r.MinViews = c.LowUsageViews
	}
	if c.LowUsageMinDays > 0 {
		r.MinAge = time.Duration(c.LowUsageMinDays) * day
	}
	return r
}

// Inputs builds the analysis inputs on dbt alone: with a Mode workspace
// configured, the caller builds the Mode client (ModeConfig) and sets BI,
// so one path builds every Mode client.
func (c Config) Inputs(logger *slog.Logger) (Inputs, error) {
	if c.Manifest == "" {
		return Inputs{}, fmt.Errorf("metapipeline: no dbt manifest configured")
	}
	rules := c.Rules()
	var timeout time.Duration
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			return Inputs{}, fmt.Errorf("metapipeline: timeout %q: want a positive duration such as 90s", c.Timeout)
		}
		timeout = d
	}
	if c.ModeWorkspace == "" && c.ModeURL != "" {
		return Inputs{}, fmt.Errorf("metapipeline: a Mode URL needs a Mode workspace")
	}
	return Inputs{
		Timeout:         timeout,
		ManifestPath:    c.Manifest,
		RunResultsDir:   c.RunResults,
		Stale:           &rules,
		Keep:            c.Keep,
		IncludePackages: c.IncludePackages,
		LooseMatching:   c.LooseMatching,
		ExposuresPath:   c.ExposuresPath,
		Exposures:       exposures.Options{OwnerEmail: c.ExposuresOwner},
		Logger:          logger,
	}, nil
}

// ModeConfig is the Mode client's configuration for c's workspace with the
// given credentials.
func (c Config) ModeConfig(token, secret string, logger *slog.Logger) mode.Config {
	return mode.Config{
		BaseURL:     c.ModeURL,
		Workspace:   c.ModeWorkspace,
		Token:       token,
		Secret:      secret,
		Concurrency: c.ModeConcurrency,
		Logger:      logger,
	}
}
