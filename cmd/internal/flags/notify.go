package flags

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/notify"
)

// NotifyEnvHelp documents the environment NotifyFromEnv reads.
const NotifyEnvHelp = `Notifications: SLUICE_NOTIFY (comma-separated targets, each
"[slack|generic] [events=TYPE|TYPE...] [name=NAME] URL"), SLUICE_NOTIFY_SECRET
(HMAC-SHA256 key of X-Sluice-Signature on generic targets; never logged),
SLUICE_NOTIFY_WINDOW (default 5m), SLUICE_NOTIFY_SUMMARY (default 168h; 0: none).
`

// NotifyFromEnv reads the notification settings from the environment.
func NotifyFromEnv(getenv func(string) string) (notify.Config, error) {
	cfg := notify.Config{Window: notify.DefaultWindow, SummaryEvery: notify.DefaultSummaryEvery, Secret: getenv("SLUICE_NOTIFY_SECRET")}
	var errs []string
	if v, ok := nonEmpty(getenv, "SLUICE_NOTIFY"); ok {
		if err := (&notifyTargets{p: &cfg.Targets}).Set(v); err != nil {
			errs = append(errs, "SLUICE_NOTIFY: "+err.Error())
		}
	}
	for name, p := range map[string]*time.Duration{"SLUICE_NOTIFY_WINDOW": &cfg.Window, "SLUICE_NOTIFY_SUMMARY": &cfg.SummaryEvery} {
		if v, ok := nonEmpty(getenv, name); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a duration", name, v))
				continue
			}
			*p = d
		}
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

// RegisterNotify adds the notification flags to fs, with cfg's values
// (the environment's) as defaults. The secret has no flag.
func RegisterNotify(fs *flag.FlagSet, cfg *notify.Config) {
	fs.Var(&notifyTargets{p: &cfg.Targets}, "notify", `post events to a target: "[slack|generic] [events=TYPE|TYPE...] [name=NAME] URL"; repeatable, a config-file list (env SLUICE_NOTIFY, comma-separated)`)
	fs.DurationVar(&cfg.Window, "notify-window", cfg.Window, "least time between two messages about one DAG, run, sensor or review; what comes sooner is grouped (env SLUICE_NOTIFY_WINDOW)")
	fs.DurationVar(&cfg.SummaryEvery, "notify-summary", cfg.SummaryEvery, "period of the meta.summary notification, 0: none (env SLUICE_NOTIFY_SUMMARY)")
}

// NotifyConfig finishes cfg after parsing: a zero summary period means
// none.
func NotifyConfig(cfg notify.Config) (notify.Config, error) {
	if cfg.Window <= 0 {
		return cfg, fmt.Errorf("--notify-window must be positive")
	}
	if cfg.SummaryEvery == 0 {
		cfg.SummaryEvery = -1
	}
	if cfg.SummaryEvery < 0 && cfg.SummaryEvery != -1 {
		return cfg, fmt.Errorf("--notify-summary must not be negative")
	}
	return cfg, nil
}

// notifyTargets is --notify: the first value replaces the environment's
// list, later ones add to it; a value may hold several comma-separated
// targets (a config file's list arrives joined).
type notifyTargets struct {
	p   *[]notify.Target
	set bool
}

// String names the targets, never their URLs: a webhook URL is a secret.
func (f *notifyTargets) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	names := make([]string, len(*f.p))
	for i, t := range *f.p {
		names[i] = t.Name
	}
	return strings.Join(names, ",")
}

func (f *notifyTargets) Set(v string) error {
	if !f.set {
		*f.p = nil
		f.set = true
	}
	for _, spec := range notify.SplitTargets(v) {
		t, err := notify.ParseTarget(spec)
		if err != nil {
			return err
		}
		*f.p = append(*f.p, t)
	}
	return nil
}
