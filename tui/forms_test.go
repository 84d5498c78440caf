package tui

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// withRunConfig is the loaded fixture where run #9 of demo/fanout carried
// a run config: T prefills it.
func withRunConfig() *api.Snapshot {
	s := viewtest.Loaded()
	for i := range s.Runs.Finished {
		if s.Runs.Finished[i].ID == 9 {
			s.Runs.Finished[i].Config = json.RawMessage(`{"date":"2024-05-01","full":true}`)
		}
	}
	return s
}

func (c *console) typeText(s string) {
	for _, r := range s {
		switch r {
		case '\n':
			c.tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		default:
			c.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
}

// T opens the run config prefilled with the DAG's last one; invalid JSON
// is refused where it is, with nothing sent; a valid object asks first
// (No by default) and the run goes with exactly what was typed.
func TestTriggerWithConfig(t *testing.T) {
	t.Parallel()
	c := start(t, withRunConfig(), 80, 24)
	c.keys("j", "j", "T")
	form := c.waitFor("Trigger demo/fanout", "from run #9", `"date": "2024-05-01"`, "ctrl+s trigger")
	checkFrame(t, form, 80, 24)
	requireGolden(t, form, "prefilled")

	// The cursor sits at the end: a trailing comma breaks the object.
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor("Trigger a run of demo/fanout with this run config?")
	c.keys("n")
	c.waitGone("with this run config?")
	c.keys("up")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyEnd})
	c.typeText(",")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	bad := c.waitFor("✗ line 4, column 1: invalid character '}'", "beginning of object key")
	checkFrame(t, bad, 80, 24)
	requireGolden(t, bad, "invalid_json")

	// An array is JSON, but not a run config: the engine's own rule.
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlA}) // textarea: start of line
	for range 60 {
		c.tm.Send(tea.KeyMsg{Type: tea.KeyBackspace})
		c.tm.Send(tea.KeyMsg{Type: tea.KeyDelete})
	}
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor("with no run config?")
	c.keys("esc")
	c.typeText(`[1, 2]`)
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor(api.ErrInvalidConfig.Error())
	for range 10 {
		c.tm.Send(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	c.typeText("{\"date\": \"2024-05-02\"}")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor("> No <")
	c.keys("enter") // the default: nothing is sent
	c.waitGone("> No <")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor("> No <")
	c.keys("y")
	c.waitFor("queued run #101 of demo/fanout")
	c.waitGone("Trigger demo/fanout") // the form closed once the run was queued
	c.final()
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if !slices.Equal(c.f.triggered, []string{"demo/fanout"}) || !slices.Equal(c.f.configs, []string{`{"date":"2024-05-02"}`}) {
		t.Fatalf("triggered %v with %q", c.f.triggered, c.f.configs)
	}
}

// esc leaves the form and nothing is sent; a DAG with no run config
// yet starts from the empty object.
func TestTriggerFormCancel(t *testing.T) {
	t.Parallel()
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("j", "j", "T")
	c.waitFor("no earlier run config: {}")
	c.keys("esc")
	screen := c.waitGone("Trigger demo/fanout")
	if !strings.Contains(screen, "fanout  [active]") {
		t.Errorf("esc did not go back to the tree:\n%s", screen)
	}
	c.final()
	if tr, _ := c.f.calls(); len(tr) != 0 {
		t.Fatalf("esc triggered %v", tr)
	}
}
