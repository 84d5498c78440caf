package main

import (
	"context"
	"strings"
	"testing"
)

// demo --help names every piece of the embedded platform and where its
// state goes.
func TestDemoHelpExplainsThePlatform(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCmd(context.Background(), nil, "demo", "--help")
	if code != exitOK {
		t.Fatalf("demo --help: %d", code)
	}
	for _, want := range []string{"dags/demo/", "gofakes3", "kfake", "kafka_events.json", "bare origin",
		"Mode's API", "GitHub's pull request API", "temporary directory", "-state-dir", "-churn", "-scan-interval"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("demo --help lacks %q", want)
		}
	}
}
