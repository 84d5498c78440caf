package tui

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// The status line counts the live instances sharing the store, and says
// nothing about them on a single box.
func TestSummaryCountsLiveInstances(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		instances int
		want      string
	}{{0, ""}, {1, ""}, {3, " · 3 instances"}} {
		got := summary(&api.Snapshot{Instances: tc.instances})
		if tc.want == "" && strings.Contains(got, "instance") {
			t.Errorf("%d instances: %q mentions instances", tc.instances, got)
		}
		if tc.want != "" && !strings.HasSuffix(got, tc.want) {
			t.Errorf("%d instances: %q, want it to end %q", tc.instances, got, tc.want)
		}
	}
}
