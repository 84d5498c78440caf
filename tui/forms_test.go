package tui

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/access"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/styles"
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

// backfillEngine serves one active backfill and a finished one, and
// records cancellations; a cancelled backfill is no longer running.
type backfillEngine struct {
	*fakeEngine
	bmu       sync.Mutex
	list      []api.Backfill
	cancelled []int64
}

func (b *backfillEngine) Backfills(context.Context) ([]api.Backfill, error) {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	return slices.Clone(b.list), nil
}

func (b *backfillEngine) CancelBackfill(_ context.Context, id int64) error {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	b.cancelled = append(b.cancelled, id)
	for i := range b.list {
		if b.list[i].ID == id {
			b.list[i].State = api.BackfillCancelled
		}
	}
	return nil
}

// withBackfillRuns is the loaded fixture with two queued runs of backfill
// #3, so the pane knows a backfill is under way.
func withBackfillRuns() *api.Snapshot {
	s := viewtest.Loaded()
	for _, id := range []int64{16, 17} {
		s.Runs.Queued = append(s.Runs.Queued, api.Run{ID: id, DAG: "reports/hourly", State: api.RunQueued, Trigger: "backfill",
			QueuedAt: viewtest.Now.Add(-time.Minute), WaitReason: "backfill max_active 2 reached", Total: 1})
	}
	return s
}

// An active backfill shows in the run queue with its progress; c on it
// cancels it as a whole after a confirmation that defaults to No; once
// cancelled, it leaves the queue.
func TestBackfillProgressAndCancel(t *testing.T) {
	t.Parallel()
	snap := withBackfillRuns()
	b := &backfillEngine{fakeEngine: newFakeEngine(snap), list: []api.Backfill{
		{ID: 3, DAG: "reports/hourly", State: api.BackfillRunning, Total: 38, Succeeded: 12, Failed: 2, Running: 1, Queued: 2, Pending: 21},
		{ID: 2, DAG: "demo/fanout", State: api.BackfillDone, Total: 4, Succeeded: 4},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, b, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1})
	t.Cleanup(m.Close)
	c := startModel(t, m, b.fakeEngine, 80, 24)
	c.keys("2")
	c.waitFor("Backfills (1 active)")
	c.keys("k") // from the first run up to the backfill
	queue := c.waitFor("bf#3", "12 done · 2 failed · 24 queued of 38", "c cancel backfill")
	if strings.Contains(queue, "bf#2") {
		t.Errorf("a finished backfill shows as active:\n%s", queue)
	}
	checkFrame(t, queue, 80, 24)
	requireGolden(t, queue, "queue")

	c.keys("c")
	c.waitFor("Cancel backfill #3 of reports/hourly?", "> No <")
	c.keys("enter")
	c.waitGone("> No <")
	c.keys("c")
	c.waitFor("> No <")
	c.keys("y")
	c.waitFor("cancelled backfill #3 of reports/hourly")
	c.waitGone("bf#3")
	c.final()
	b.bmu.Lock()
	defer b.bmu.Unlock()
	if !slices.Equal(b.cancelled, []int64{3}) {
		t.Fatalf("cancelled backfills %v, want [3]", b.cancelled)
	}
	if _, runs := b.calls(); len(runs) != 0 {
		t.Fatalf("cancelling the backfill cancelled runs one by one: %v", runs)
	}
}

// A viewer pressing c on a backfill is refused at once, for the backfill.
func TestViewerCannotCancelBackfill(t *testing.T) {
	t.Parallel()
	b := &backfillEngine{fakeEngine: newFakeEngine(withBackfillRuns()), list: []api.Backfill{
		{ID: 3, DAG: "reports/hourly", State: api.BackfillRunning, Total: 38, Succeeded: 12, Queued: 2, Pending: 24},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, access.Restrict(b, access.Viewer), Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1,
		Refused: viewerRefusals(), Who: "victor · viewer (read only)", Remote: true})
	t.Cleanup(m.Close)
	c := startModel(t, m, b.fakeEngine, 160, 30)
	c.keys("2")
	c.waitFor("bf#3")
	c.keys("k", "c")
	screen := c.waitFor("viewers cannot cancel backfills")
	if m.confirm != nil || strings.Contains(screen, "> No <") {
		t.Errorf("a confirmation opened before the refusal:\n%s", screen)
	}
	c.final()
	b.bmu.Lock()
	defer b.bmu.Unlock()
	if len(b.cancelled) != 0 {
		t.Fatalf("a viewer cancelled backfills %v", b.cancelled)
	}
}

// auditEngine serves a scripted audit log, newest first.
type auditEngine struct {
	*fakeEngine
	amu     sync.Mutex
	entries []api.AuditEntry
	queries []api.AuditQuery
}

func (a *auditEngine) AuditLog(_ context.Context, q api.AuditQuery) ([]api.AuditEntry, error) {
	a.amu.Lock()
	defer a.amu.Unlock()
	a.queries = append(a.queries, q)
	return slices.Clone(a.entries), nil
}

// A in the logs pane lists the audit log instead of the records (who,
// when, what, on what, how it ended, why); the filter applies to it; an
// action recorded meanwhile shows on the next change; A goes back.
func TestAuditInLogsPane(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return viewtest.Now.Add(-time.Duration(m) * time.Minute) }
	a := &auditEngine{fakeEngine: newFakeEngine(viewtest.Loaded()), entries: []api.AuditEntry{
		{ID: 4, At: at(1), Actor: "victor", Action: "approve", Target: "review 3", Outcome: "viewers cannot approve reviews"},
		{ID: 3, At: at(5), Actor: "olga", Action: "mark", Target: "run 10", Outcome: api.AuditOK, Reason: "reloaded by hand"},
		{ID: 2, At: at(9), Actor: "olga", Action: "pause", Target: "dag demo/flaky", Outcome: api.AuditOK},
		{ID: 1, At: at(30), Actor: "olga", Action: "trigger", Target: "dag demo/fanout", Outcome: "ok: run 13"},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, a, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1})
	t.Cleanup(m.Close)
	c := startModel(t, m, a.fakeEngine, 80, 24)
	c.keys("5", "A")
	list := c.waitFor("audit log · 4 actions", "viewers cannot approve", "“reloaded by hand”", "A log records")
	if strings.Index(list, "trigger") > strings.Index(list, "approve") {
		t.Errorf("the newest action is not at the bottom:\n%s", list)
	}
	checkFrame(t, list, 80, 24)
	requireGolden(t, list, "audit")

	c.keys("/")
	c.typeText("olga mark")
	c.keys("enter")
	c.waitFor("1 of 4 actions")
	c.keys("enter")
	c.waitFor("audit entry", "reason  reloaded by hand")
	c.keys("esc", "esc")
	c.waitFor("audit log · 4 actions")

	a.amu.Lock()
	a.entries = append([]api.AuditEntry{{ID: 5, At: at(0), Actor: "olga", Action: "backfill", Target: "dag reports/hourly", Outcome: "ok: backfill 3"}}, a.entries...)
	a.amu.Unlock()
	a.publish(viewtest.Loaded(), api.TopicRuns)
	c.waitFor("audit log · 5 actions", "ok: backfill 3")

	c.keys("A")
	c.waitFor("5 records · following")
	c.final()
	a.amu.Lock()
	defer a.amu.Unlock()
	if len(a.queries) == 0 || a.queries[0].Limit <= 0 {
		t.Fatalf("audit queries %+v: the pane must bound what it reads", a.queries)
	}
}

type markCall struct {
	run    int64
	task   string
	state  api.RunState
	reason string
}

func (f *fakeEngine) Mark(_ context.Context, run int64, task string, state api.RunState, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.marks = append(f.marks, markCall{run, task, state, reason})
	return nil
}

// M on a finished run asks the state (the other one first) and an
// optional reason, then confirms with No by default.
func TestMarkRun(t *testing.T) {
	t.Parallel()
	c := start(t, viewtest.Loaded(), 80, 24)
	c.keys("2", "G", "k", "M") // #10, failed
	form := c.waitFor("Mark run #10 of demo/flaky", "it failed", "> success <")
	checkFrame(t, form, 80, 24)
	requireGolden(t, form, "form")
	c.keys("tab")
	c.typeText("reloaded by hand")
	c.keys("enter")
	c.waitFor("Mark run #10 of demo/flaky as success?", "Reason: reloaded by hand", "> No <")
	c.keys("enter")
	c.waitGone("> No <")
	c.keys("enter")
	c.waitFor("> No <")
	c.keys("y")
	c.waitFor("marked run #10 of demo/flaky success")
	c.waitGone("Mark run #10")
	c.final()
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if want := []markCall{{10, "", api.RunSuccess, "reloaded by hand"}}; !slices.Equal(c.f.marks, want) {
		t.Fatalf("marks %+v, want %+v", c.f.marks, want)
	}
}

// With an editor configured, ctrl+o hands the run config to it and takes
// back what it wrote, checked at once; a remote session never gets one.
func TestTriggerFormEditor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "editor")
	// The editor sees the prefilled text and replaces it (a real process,
	// the file round trip included).
	body := "#!/bin/sh\ngrep -q '\"full\": true' \"$1\" || exit 3\nprintf '{\"from\": \"editor\",}' > \"$1\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFakeEngine(withRunConfig())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, f, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1, Editor: script})
	t.Cleanup(m.Close)
	c := startModel(t, m, f, 80, 24)
	c.keys("j", "j", "T")
	c.waitFor("ctrl+o editor")
	c.tm.Send(tea.KeyMsg{Type: tea.KeyCtrlO})
	c.waitFor(`{"from": "editor",}`, "✗ line 1, column 19: invalid character '}'")
	c.final()

	remote := New(ctx, f, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1, Editor: script, Remote: true})
	t.Cleanup(remote.Close)
	if remote.c.Editor != "" {
		t.Fatalf("a remote session got the editor %q", remote.c.Editor)
	}
}

// The forms fill their pane exactly in the wide grid too, where the DAG
// pane is a quarter of the screen.
func TestFormsFitTheGrid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, shows string }{{"T", "Trigger demo/fanout"}, {"B", "Backfill demo/fanout"}} {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			c := start(t, withRunConfig(), 160, 45)
			c.keys("j", "j", tc.key)
			checkFrame(t, c.waitFor(tc.shows), 160, 45)
			c.keys("esc")
			c.waitGone(tc.shows)
			c.final()
		})
	}
	t.Run("mark", func(t *testing.T) {
		t.Parallel()
		c := start(t, viewtest.Loaded(), 160, 45)
		c.keys("2", "G", "M")
		checkFrame(t, c.waitFor("Mark run #9 of demo/fanout"), 160, 45)
		c.final()
	})
}
