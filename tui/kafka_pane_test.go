package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The Kafka pane in each state, on the smallest terminal and on a wide one
// (in the grid, and zoomed).
func TestKafkaPane(t *testing.T) {
	paused := func() *api.Snapshot { return viewtest.Sensors() }
	for _, tc := range []struct {
		name          string
		snap          func() *api.Snapshot
		width, height int
		keys          []string
		want          []string
	}{
		{"empty", viewtest.Empty, 80, 24, nil, []string{"no Kafka sensors", `"type": "kafka"`}},
		{"loaded", viewtest.Sensors, 80, 24, nil, []string{"4 sensors", "[running]", "[backpressure]", "[paused]", "[error]", "group sluice.demo/events", "2 members", "120400", "Ticks (12)"}},
		{"error", viewtest.Sensors, 80, 24, []string{"G"}, []string{"reports/stream#0", "error: kafka: client has run out", "none", "state unknown"}},
		{"paused", paused, 80, 24, []string{"j", "j"}, []string{"reports/clicks#1", "[paused]", "[STOP]", "tick 30s ago · paused", "Empty · 0 members"}},
		{"backpressure", viewtest.Sensors, 80, 24, []string{"j"}, []string{"demo/orders#0", "[STALL]", "[WARN]", "backpressure: 12 queued runs, bound 10"}},
		{"grid", viewtest.Sensors, 160, 44, nil, []string{"▶ 3 Kafka", "demo/events#0"}},
		{"zoomed", viewtest.Sensors, 160, 44, []string{"z"}, []string{"▶ 3 Kafka", "zoomed", "orders,order-retries", "Ticks (12)", "AGO"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := start(t, tc.snap(), tc.width, tc.height)
			c.keys("3")
			c.keys(tc.keys...)
			screen := c.waitFor(tc.want...)
			c.final()
			checkFrame(t, screen, tc.width, tc.height)
			requireGolden(t, screen)
		})
	}
}

// enter opens a sensor's ticks, enter again a tick's details, esc goes
// back one level at a time.
func TestKafkaTickDetails(t *testing.T) {
	c := start(t, viewtest.Sensors(), 80, 24)
	c.keys("3", "enter")
	screen := c.waitFor("demo/events#0 · topics events", "STARTED", "› 11:59:55")
	requireGolden(t, screen, "sensor")
	if f := footer(screen); !strings.Contains(f, "tick details") || !strings.Contains(f, "pause/resume") {
		t.Errorf("sensor view footer: %q", f)
	}

	// The eighth tick (index 7) was skipped by backpressure.
	c.keys("j", "j", "j", "j", "j", "j", "j", "enter")
	screen = c.waitFor("tick #105 of demo/events#0", "[backpressure]", "the DAG's queue was full")
	requireGolden(t, screen, "backpressure_tick")

	c.keys("esc", "g", "enter")
	screen = c.waitFor("tick #112 of demo/events#0", "[ok]", "800", "(2000 msg/s consumed while the tick pulled)", "Sensor now",
		"Runs (2)", "#500     events              0  120000–120399", "#501", "119960–120359", "because   every partition OK")
	requireGolden(t, screen, "tick")

	c.keys("esc")
	c.waitFor("Ticks (12)", "STARTED")
	c.keys("esc")
	c.waitFor("4 sensors", "enter: ticks")
	c.final()
}

// A sensor that cannot reach Kafka: its error in the card and in the
// failed tick's details.
func TestKafkaErrorTick(t *testing.T) {
	c := start(t, viewtest.Sensors(), 80, 24)
	c.keys("3", "G", "enter", "enter")
	screen := c.waitFor("tick #901 of reports/stream#0", "[error]", "connection refused")
	c.final()
	if !strings.Contains(screen, "error") || !strings.Contains(screen, "[ERR]") {
		t.Errorf("tick details lack the error or the group status:\n%s", screen)
	}
	requireGolden(t, screen, "error_tick")
}

// p asks first (default No); only yes pauses, and a paused sensor resumes.
func TestKafkaPauseConfirm(t *testing.T) {
	c, r := startRecording(t, viewtest.Sensors(), 80, 24)
	c.keys("3", "p")
	screen := c.waitFor("Pause sensor demo/events#0 (events)?", "> No <")
	requireGolden(t, screen, "dialog")
	c.keys("enter")
	c.waitGone("Pause sensor")
	c.keys("p")
	c.waitFor("Pause sensor")
	c.keys("esc")
	c.waitGone("Pause sensor")
	if p, _, _, _ := r.recorded(); len(p) != 0 {
		t.Fatalf("no/esc paused: %v", p)
	}
	c.keys("p")
	c.waitFor("Pause sensor")
	c.keys("y")
	c.waitFor("paused sensor demo/events#0")

	// The paused sensor, from inside its ticks view: resume.
	c.keys("j", "j", "enter", "p")
	c.waitFor("Resume sensor reports/clicks#1 (clicks)?")
	c.keys("y")
	screen = c.waitFor("resumed sensor reports/clicks#1")
	c.final()
	p, _, _, _ := r.recorded()
	if want := []pauseCall{{"demo/events", 0, true}, {"reports/clicks", 1, false}}; !slices.Equal(p, want) {
		t.Fatalf("PauseSensor calls %v, want %v", p, want)
	}
	requireGolden(t, screen, "resumed_toast")
}

func TestKafkaPauseError(t *testing.T) {
	c, r := startRecording(t, viewtest.Sensors(), 80, 24)
	r.rmu.Lock()
	// As the engine words it (api.API): the toast adds nothing.
	r.pauseErr = errors.New(`pausing sensor 0 of "demo/events": sensor not running`)
	r.rmu.Unlock()
	c.keys("3", "p")
	c.waitFor("Pause sensor")
	c.keys("y")
	screen := c.waitFor(`error: pausing sensor 0 of "demo/events": sensor not running`)
	if n := strings.Count(screen, "pausing sensor"); n != 1 {
		t.Errorf("the error names the operation %d times:\n%s", n, screen)
	}
	c.final()
}

// The ticks list is live: at the top it follows the newest tick; moved
// down, it stays on its tick while new ones arrive above.
func TestKafkaTicksAreLive(t *testing.T) {
	c := start(t, viewtest.Sensors(), 80, 24)
	c.keys("3", "enter")
	c.waitFor("› 11:59:55")
	next := viewtest.Sensors()
	s := &next.Sensors[0]
	s.Ticks = append([]api.Tick{{ID: 113, Start: viewtest.Now.Add(-time.Second), Duration: time.Second, Batches: 3, Messages: 2999}}, s.Ticks...)
	c.f.publish(next, api.TopicSensors)
	c.waitFor("Ticks (13)", "› 11:59:59", "2999")

	c.keys("j", "j") // on #111, 11:59:50
	c.waitFor("› 11:59:50")
	newer := viewtest.Sensors()
	newer.Sensors[0].Ticks = append([]api.Tick{{ID: 114, Start: viewtest.Now, Batches: 1, Messages: 5}}, next.Sensors[0].Ticks...)
	c.f.publish(newer, api.TopicSensors)
	c.waitFor("Ticks (14)", "› 11:59:50")
	c.final()
}

func TestKafkaFilters(t *testing.T) {
	c := start(t, viewtest.Sensors(), 80, 24)
	c.keys("3", "/")
	c.tm.Type("orders")
	c.waitFor("/ orders")
	c.keys("enter")
	screen := c.waitFor("filter: orders", "demo/orders#0")
	if strings.Contains(screen, "demo/events#0") {
		t.Errorf("the sensor filter kept demo/events:\n%s", screen)
	}
	// Inside the sensor, / filters its ticks.
	c.keys("esc", "g", "enter", "/")
	c.tm.Type("backpressure")
	c.keys("enter")
	screen = c.waitFor("1 match the filter", "backpressure: 10 queued")
	if strings.Contains(screen, "11:59:55") {
		t.Errorf("the tick filter kept an ok tick:\n%s", screen)
	}
	c.final()
}

func TestKafkaHelp(t *testing.T) {
	c := start(t, viewtest.Sensors(), 100, 30)
	c.keys("3", "?")
	screen := c.waitFor("Keys · Kafka pane and global")
	c.final()
	for _, want := range []string{"pause/resume", "sensor ticks", "filter", "page down", "back", "next pane"} {
		if !strings.Contains(screen, want) {
			t.Errorf("help lacks %q:\n%s", want, screen)
		}
	}
}

// 10,000 ticks: the cursor reaches the oldest and the frame still fits.
func TestKafkaLargeTicks(t *testing.T) {
	snap := viewtest.LargeSensors(10000)
	m, _ := newModel(t, snap)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(common.SnapshotUpdatedMsg{Snap: snap, Topics: common.AllTopics})
	m.Update(keyMsg("3"))
	m.Update(keyMsg("enter"))
	m.Update(keyMsg("G"))
	screen := m.View()
	checkFrame(t, screen, 80, 24)
	oldest := snap.Sensors[0].Ticks[9999]
	if !strings.Contains(screen, "› "+common.Clock(oldest.Start)) {
		t.Errorf("G did not reach the oldest tick (%s):\n%s", common.Clock(oldest.Start), screen)
	}
	if !strings.Contains(screen, "more partitions") {
		t.Errorf("64 partitions do not fit 24 rows, but nothing says some are hidden:\n%s", screen)
	}
}

func footer(screen string) string {
	lines := strings.Split(screen, "\n")
	return lines[len(lines)-1]
}
