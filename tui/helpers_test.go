package tui

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest/poll"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

func TestMain(m *testing.M) {
	// Golden files hold what a NO_COLOR terminal shows: text only.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// newModel builds a console over a fake engine with the pinned clock.
func newModel(t testing.TB, snap *api.Snapshot) (*Model, *fakeEngine) {
	t.Helper()
	f := newFakeEngine(snap)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, f, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1})
	t.Cleanup(m.Close)
	return m, f
}

// console is a running program over a fake engine, sized like a terminal.
type console struct {
	t  *testing.T
	tm *teatest.TestModel
	f  *fakeEngine
	m  *Model
}

// probe wraps the model so a test can read the current screen from inside
// the program's own goroutine: no race with Update, and a message sent
// before the probe is handled before it.
type probe struct{ *Model }

type screenRequestedMsg chan string

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if req, ok := msg.(screenRequestedMsg); ok {
		req <- p.Model.View()
		return p, nil
	}
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

func start(t *testing.T, snap *api.Snapshot, width, height int) *console {
	t.Helper()
	m, f := newModel(t, snap)
	return startModel(t, m, f, width, height)
}

func startModel(t *testing.T, m *Model, f *fakeEngine, width, height int) *console {
	t.Helper()
	tm := teatest.NewTestModel(t, probe{m}, teatest.WithInitialTermSize(width, height))
	c := &console{t: t, tm: tm, f: f, m: m}
	t.Cleanup(func() { _ = tm.Quit() })
	// The status bar shows the snapshot's summary once it has arrived.
	c.waitFor(strings.Split(summary(f.Snapshot()), " · updated")[0])
	return c
}

// screen returns what the console shows now, after every message sent
// before the call.
func (c *console) screen() string {
	req := make(screenRequestedMsg, 1)
	c.tm.Send(req)
	select {
	case s := <-req:
		return s
	case <-time.After(5 * time.Second):
		c.t.Fatal("the program did not answer a screen probe")
		return ""
	}
}

// waitFor polls the screen, with a deadline, until it shows every text.
func (c *console) waitFor(texts ...string) string {
	c.t.Helper()
	return c.waitUntil(func(s string) bool {
		for _, want := range texts {
			if !strings.Contains(s, want) {
				return false
			}
		}
		return true
	}, fmt.Sprintf("%q", texts))
}

// waitGone polls the screen until it no longer shows text.
func (c *console) waitGone(text string) string {
	c.t.Helper()
	return c.waitUntil(func(s string) bool { return !strings.Contains(s, text) }, fmt.Sprintf("%q to go", text))
}

func (c *console) waitUntil(ok func(string) bool, what string) string {
	c.t.Helper()
	var s string
	if !poll.Until(5*time.Second, func() bool {
		s = c.screen()
		return ok(s)
	}) {
		poll.TimedOut(c.t, 5*time.Second, what+"; the screen shows:\n"+s)
	}
	return s
}

func (c *console) keys(ks ...string) {
	for _, k := range ks {
		c.tm.Send(keyMsg(k))
	}
}

// final quits the program and returns the last screen.
func (c *console) final() string {
	c.t.Helper()
	if err := c.tm.Quit(); err != nil {
		c.t.Fatal(err)
	}
	fm := c.tm.FinalModel(c.t, teatest.WithFinalTimeout(5*time.Second))
	return fm.View()
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune(" ")}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// requireGolden compares a screen with testdata/<Test>/<case>.golden
// (go test -update rewrites them). A subtest is its own case; a top-level
// test names its case.
func requireGolden(t *testing.T, screen string, name ...string) {
	t.Helper()
	if strings.Contains(t.Name(), "/") || len(name) == 0 {
		golden.RequireEqual(t, []byte(screen))
		return
	}
	t.Run(name[0], func(t *testing.T) { golden.RequireEqual(t, []byte(screen)) })
}

// checkFrame asserts a screen fills the terminal exactly: the renderer
// would otherwise scroll or leave stale cells.
func checkFrame(t *testing.T, screen string, width, height int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != height {
		t.Fatalf("screen has %d lines, want %d", len(lines), height)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w != width {
			t.Fatalf("line %d is %d cells wide, want %d: %q", i, w, width, l)
		}
	}
}
