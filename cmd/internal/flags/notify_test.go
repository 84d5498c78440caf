package flags

import (
	"flag"
	"testing"
	"time"
)

func TestNotifyFlagsOverrideEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SLUICE_NOTIFY":        "https://hooks.slack.com/services/T/B/C, events=run.* https://ops.example/hook",
		"SLUICE_NOTIFY_WINDOW": "1m", "SLUICE_NOTIFY_SECRET": "k3y-value",
	}
	cfg, err := NotifyFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 2 || cfg.Targets[0].Kind != "slack" || cfg.Targets[1].Events[0] != "run.*" || cfg.Window != time.Minute || cfg.Secret != "k3y-value" {
		t.Fatalf("from env: %+v", cfg)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	RegisterNotify(fs, &cfg)
	if err := fs.Parse([]string{"--notify", "https://a.example/1", "--notify", "slack name=team https://b.example/2", "--notify-summary", "0"}); err != nil {
		t.Fatal(err)
	}
	cfg, err = NotifyConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 2 || cfg.Targets[0].Name != "generic:a.example" || cfg.Targets[1].Name != "team" || cfg.SummaryEvery >= 0 {
		t.Fatalf("after flags: %+v", cfg)
	}
	if s := fs.Lookup("notify").Value.String(); s != "generic:a.example,team" {
		t.Fatalf("--notify shows %q, want the names only", s)
	}
	if _, err := NotifyFromEnv(func(k string) string { return map[string]string{"SLUICE_NOTIFY": "teams https://x"}[k] }); err == nil {
		t.Fatal("a bad target in the environment passed")
	}
}
