package tui

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

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

// Backfill answers a dry run with every hour of the range but the first,
// which "already succeeded", and records what it was asked.
func (f *fakeEngine) Backfill(_ context.Context, req api.BackfillRequest) (api.BackfillPlan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backfills = append(f.backfills, req)
	var plan api.BackfillPlan
	for at := req.From.Truncate(time.Hour); !at.After(req.To); at = at.Add(time.Hour) {
		if at.Before(req.From) {
			continue
		}
		if len(plan.Skipped) == 0 && req.Reprocess != api.ReprocessAll {
			plan.Skipped = append(plan.Skipped, api.SkippedFire{At: at, Run: 7, Reason: "succeeded in #7"})
			continue
		}
		plan.Fires = append(plan.Fires, at)
	}
	if !req.DryRun {
		plan.Backfill = api.Backfill{ID: 3, DAG: req.DAG, Total: len(plan.Fires)}
	}
	return plan, nil
}

// B on a scheduled DAG: the form previews the range (a dry run), says how
// many fire times run and which are skipped; a field changed drops the
// preview; ctrl+s asks (No by default) and queues exactly what was
// previewed.
func TestBackfillForm(t *testing.T) {
	t.Parallel()
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("j", "j", "B")
	form := c.waitFor("Backfill demo/fanout", "schedule @every 10s", "> 48h", "reprocess")
	checkFrame(t, form, 80, 24)
	requireGolden(t, form, "empty")

	c.keys("tab")
	c.typeText("not a time")
	c.keys("enter")
	c.waitFor(`✗ to: "not a time" is neither a duration (24h) nor an RFC 3339 time`)
	for range len("not a time") {
		c.tm.Send(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	c.typeText("44h")
	c.keys("tab")
	c.typeText("2")
	c.keys("enter")
	preview := c.waitFor("4 fire times to run · 1 skipped", "skip 2025-05-30 12:00 UTC", "succeeded in #7", "ctrl+s queues 4 runs")
	checkFrame(t, preview, 80, 24)
	requireGolden(t, preview, "preview")

	// Reprocess all (failed → none → all): the preview goes, the next
	// one skips nothing.
	c.keys("tab", "right", "right")
	c.waitGone("ctrl+s queues 4 runs")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS}) // no preview yet: previews
	c.waitFor("5 fire times to run · 0 skipped")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor("Queue a backfill of demo/fanout: 5 runs from", "> No <")
	c.keys("enter")
	c.waitGone("> No <")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	c.waitFor("> No <")
	c.keys("y")
	c.waitFor("queued backfill #3 of demo/fanout: 5 runs")
	c.waitGone("Backfill demo/fanout")
	c.final()

	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var queued []api.BackfillRequest
	for _, r := range c.f.backfills {
		if !r.DryRun {
			queued = append(queued, r)
		}
	}
	now := viewtest.Clock.Now()
	want := api.BackfillRequest{DAG: "demo/fanout", From: now.Add(-48 * time.Hour), To: now.Add(-44 * time.Hour), MaxActive: 2, Reprocess: api.ReprocessAll}
	if len(queued) != 1 || !sameBackfill(queued[0], want) {
		t.Fatalf("queued %+v, want one %+v", queued, want)
	}
}

func sameBackfill(a, b api.BackfillRequest) bool {
	return a.DAG == b.DAG && a.From.Equal(b.From) && a.To.Equal(b.To) && a.MaxActive == b.MaxActive && a.Reprocess == b.Reprocess
}

// A DAG without a schedule has nothing to backfill: no form opens.
func TestBackfillNeedsSchedule(t *testing.T) {
	t.Parallel()
	snap := viewtest.Loaded()
	for i := range snap.DAGs {
		if snap.DAGs[i].Name == "demo/fanout" {
			def := *snap.DAGs[i].Def
			def.Schedule = ""
			snap.DAGs[i].Def = &def
		}
	}
	c := start(t, snap, 80, 24)
	c.keys("j", "j", "B")
	c.waitFor("demo/fanout has no schedule: nothing to backfill")
	c.final()
}
