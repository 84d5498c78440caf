package kafkalag

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/views/viewtest"
)

var sgrCodes = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func plain(s string) string { return sgrCodes.ReplaceAllString(s, "") }

// A tick's details name the runs it created and the offsets each carries.
func TestTickDetailsShowRangesAndRuns(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 100, 40)
	press(m, "enter", "enter")
	screen := plain(m.View())
	for _, want := range []string{"Runs (2)", "#500", "120000–120399", "#501", "119960–120359", "consumed while the tick pulled"} {
		if !strings.Contains(screen, want) {
			t.Errorf("no %q in\n%s", want, screen)
		}
	}
}

// The tick's msg/s and the partitions' rates are labelled apart: the
// partitions show what producers write (IN/s) and the group commits
// (OUT/s); the tick, how fast it read while pulling.
func TestRatesLabelled(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 100, 40)
	screen := plain(m.View())
	if !strings.Contains(screen, "IN/s") || !strings.Contains(screen, "OUT/s") || strings.Contains(screen, " RATE ") {
		t.Errorf("the partition rates are not labelled:\n%s", screen)
	}
	press(m, "enter")
	if screen := plain(m.View()); !strings.Contains(screen, "msg/s while pulling") {
		t.Errorf("the tick rate is not labelled:\n%s", screen)
	}
}

// The card says which rule decided the group's status, and who paused a
// paused sensor.
func TestStatusReasonAndPausedBy(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 200, 40)
	press(m, "j", "j") // reports/clicks#1, paused
	screen := plain(m.View())
	if !strings.Contains(screen, "why paused by alice · clicks/0 STOP: committed offset stuck at 50000") ||
		!strings.Contains(screen, "makes the group ERR") {
		t.Errorf("the paused sensor's card does not say why:\n%s", screen)
	}
	press(m, "enter", "enter")
	screen = plain(m.View())
	if !strings.Contains(screen, "paused    paused by alice") || !strings.Contains(screen, "because   clicks/0 STOP") {
		t.Errorf("the tick details do not say why:\n%s", screen)
	}
}
