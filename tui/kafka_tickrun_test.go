package tui

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// From a tick's details, enter follows the marked run: the run queue takes
// the focus with the run's details open, which name the tick back.
func TestKafkaTickOpensItsRun(t *testing.T) {
	snap := viewtest.Sensors()
	at := viewtest.Clock.Now().Add(-time.Minute)
	snap.Runs.Finished = append(snap.Runs.Finished, api.Run{ID: 501, DAG: "demo/events", State: api.RunFailed, Trigger: "sensor",
		Batch: "events/1/119960-120359", QueuedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)})
	c := start(t, snap, 100, 30)
	c.keys("3", "enter", "g", "enter")
	c.waitFor("tick #112 of demo/events#0", "› #500")
	c.keys("j")
	c.waitFor("› #501")
	c.keys("enter")
	c.waitFor("[2 Runs]", "run #501 demo/events", "events · partition 1 · offsets 119960–120359 (400 records)", "tick      #112 of sensor 0")
	c.final()
}
