package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/tui"
	"github.com/sluice-dev/sluice/views/styles"
)

// screenProbe lets a test read the console's screen from the program's
// own goroutine.
type screenProbe struct{ *tui.Model }

type screenAskedMsg chan string

func (p screenProbe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ask, ok := msg.(screenAskedMsg); ok {
		ask <- p.Model.View()
		return p, nil
	}
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

// The console's forms against the real engine: T queues a run carrying
// exactly the typed run config; B's preview is the engine's dry run and
// ctrl+s queues that many runs as one backfill; A lists both actions from
// the engine's audit log.
func TestConsoleFormsOnTheRealEngine(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	dir := enginetest.DAGFolder(t, map[string]string{
		"hourly": `{"schedule": "0 * * * *", "nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := engine.Open(ctx, engine.Options{Config: engine.Config{StateDir: t.TempDir(),
		Loader: loader.Config{Dir: dir, Enabled: true, ScanInterval: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()

	model := tui.New(ctx, eng, tui.Options{Styles: styles.New(nil), ClockInterval: -1})
	defer model.Close()
	tm := teatest.NewTestModel(t, screenProbe{model}, teatest.WithInitialTermSize(100, 30))
	screen := func() string {
		ask := make(screenAskedMsg, 1)
		tm.Send(ask)
		select {
		case s := <-ask:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("the console did not answer a screen probe")
			return ""
		}
	}
	waitFor := func(texts ...string) string {
		t.Helper()
		var s string
		enginetest.Eventually(t, 10*time.Second, func() bool {
			s = screen()
			for _, x := range texts {
				if !strings.Contains(s, x) {
					return false
				}
			}
			return true
		}, strings.Join(texts, ", ")+" on the screen")
		return s
	}
	send := func(keys ...string) {
		for _, k := range keys {
			switch k {
			case "ctrl+s":
				tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
			case "left":
				tm.Send(tea.KeyMsg{Type: tea.KeyLeft})
			case "enter":
				tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			default:
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
			}
		}
	}

	waitFor("hourly")
	send("j", "T")
	waitFor("Trigger hourly", "no earlier run config: {}")
	send("left", `"day": "2024-05-01"`, "ctrl+s")
	waitFor("Trigger a run of hourly with this run config?")
	send("y")
	waitFor("queued run #1 of hourly")
	enginetest.Eventually(t, 10*time.Second, func() bool {
		snap := eng.Snapshot()
		for _, r := range append(append(snap.Runs.Queued, snap.Runs.Running...), snap.Runs.Finished...) {
			if r.ID == 1 {
				return string(r.Config) == `{"day":"2024-05-01"}`
			}
		}
		return false
	}, "run 1 carrying the typed config")

	send("B")
	waitFor("Backfill hourly", "schedule 0 * * * *")
	send("enter")
	preview := waitFor("fire times to run")
	n, err := strconv.Atoi(regexp.MustCompile(`(\d+) fire times to run`).FindStringSubmatch(preview)[1])
	if err != nil || n < 47 || n > 49 {
		t.Fatalf("48h of an hourly schedule previews %d fire times (%v):\n%s", n, err, preview)
	}
	send("ctrl+s")
	waitFor("Queue a backfill of hourly: " + strconv.Itoa(n) + " runs")
	send("y")
	waitFor("queued backfill #1 of hourly: " + strconv.Itoa(n) + " runs")
	bfs, err := eng.Backfills(ctx)
	if err != nil || len(bfs) != 1 || bfs[0].Total != n || bfs[0].DAG != "hourly" {
		t.Fatalf("backfills %+v (%v), want one of %d runs", bfs, err, n)
	}

	send("5", "A")
	waitFor("audit log · 2 actions", "trigger   dag hourly", "ok: run 1", "ok: backfill 1")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
}
