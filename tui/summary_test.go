package tui

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The status line counts the live instances only when several share the
// store: one process (SQLite, or PostgreSQL alone) says nothing of it.
func TestSummaryCountsInstances(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		instances int
		want      string // "" : no instance count shown
	}{
		{0, ""},
		{1, ""},
		{2, "2 instances"},
		{3, "3 instances"},
	} {
		s := &api.Snapshot{Instances: tt.instances, Sources: []api.Source{{OK: true}}}
		got := summary(s)
		if tt.want == "" {
			if strings.Contains(got, "instance") {
				t.Errorf("%d instances: summary %q names instances", tt.instances, got)
			}
			continue
		}
		if !strings.HasSuffix(got, " · "+tt.want) {
			t.Errorf("%d instances: summary %q, want it to end with %q", tt.instances, got, tt.want)
		}
	}
}

// On screen: the count appears when a second instance joins and goes when
// it leaves.
func TestStatusLineShowsLiveInstances(t *testing.T) {
	t.Parallel()
	snap := viewtest.Sensors()
	snap.Instances = 1
	c := start(t, snap, 140, 30)
	if s := c.screen(); strings.Contains(s, "instances") {
		t.Fatalf("one instance, yet the status line counts them:\n%s", s)
	}
	three := *snap
	three.Instances = 3
	c.f.publish(&three, api.TopicRuns)
	c.waitFor("3 instances")
	one := three
	one.Instances = 1
	c.f.publish(&one, api.TopicRuns)
	c.waitUntil(func(s string) bool { return !strings.Contains(s, "instances") }, "the instance count to go")
}
