package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// TestStoreAlarm: while the store refuses writes the status line says so,
// ahead of everything else; it goes once writes succeed again.
func TestStoreAlarm(t *testing.T) {
	c := start(t, viewtest.Loaded(), 120, 30)
	full := *viewtest.Loaded()
	full.Store = api.StoreHealth{Error: "writing the database: no space left on device", DiskFull: true, Since: time.Now()}
	c.f.publish(&full, api.TopicRuns)
	screen := c.waitFor("store: disk full")
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "store: disk full") && !strings.Contains(line, "✗ store: disk full") || strings.Index(line, "store: disk full") > strings.Index(line, "DAGs") {
			t.Errorf("the alarm does not lead the status line: %q", line)
		}
	}
	c.f.publish(viewtest.Loaded(), api.TopicRuns)
	c.waitGone("store: disk full")
	c.final()
}
