package tui

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

func TestSummaryShowsFailingNotifyTarget(t *testing.T) {
	t.Parallel()
	s := &api.Snapshot{Notify: []api.NotifyTarget{{Name: "slack:hooks.slack.com", Failures: 4, Pending: 2, Failing: true}, {Name: "generic:ops", Failures: 1}}}
	got := summary(s)
	if !strings.Contains(got, "notify slack:hooks.slack.com failing (4 tries, 2 waiting)") || strings.Contains(got, "generic:ops") {
		t.Fatalf("summary = %q, want the failing target only", got)
	}
}
