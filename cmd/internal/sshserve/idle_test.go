package sshserve_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/api"
)

// frameModel draws a frame counter that advances every interval (never
// when zero): a console whose output is, or is not, traffic.
type frameModel struct {
	every time.Duration
	n     int
}

type frameMsg struct{}

func (m frameModel) Init() tea.Cmd {
	if m.every == 0 {
		return nil
	}
	return tea.Tick(m.every, func(time.Time) tea.Msg { return frameMsg{} })
}

func (m frameModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(frameMsg); ok {
		m.n++
		return m, m.Init()
	}
	return m, nil
}

func (m frameModel) View() string { return fmt.Sprintf("frame %d", m.n) }

func frameConsole(every time.Duration) sshserve.ConsoleFunc {
	return func(context.Context, api.API, sshserve.Session) (tea.Model, func()) {
		return frameModel{every: every}, func() {}
	}
}

const shortIdle = 300 * time.Millisecond

// A logged-in session with no traffic either way is closed after the idle
// timeout, and its place in the connection caps is released.
func TestIdleSessionIsClosed(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(cfg *sshserve.Config) {
		cfg.IdleTimeout = shortIdle
		cfg.NewConsole = frameConsole(0)
	})
	start := time.Now()
	c := sshtest.Open(t, f.addr, "olga", f.operator, 80, 24, nil)
	c.Screen.WaitFor(t, 0, wait, "frame 0")
	if ended, _ := c.Wait(wait); !ended {
		t.Fatalf("an idle session is still open %s after it started, with an idle timeout of %s", wait, shortIdle)
	}
	if took := time.Since(start); took < shortIdle {
		t.Fatalf("the session closed after %s, before the idle timeout", took)
	}
	waitStats(t, f.srv, func(s sshserve.ConnStats) bool { return s.Open == 0 })
}

// A console that keeps drawing is traffic: its session outlives many idle
// timeouts.
func TestBusySessionOutlivesTheIdleTimeout(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(cfg *sshserve.Config) {
		cfg.IdleTimeout = shortIdle
		cfg.NewConsole = frameConsole(shortIdle / 6)
	})
	c := sshtest.Open(t, f.addr, "olga", f.operator, 80, 24, nil)
	// 30 frames of shortIdle/6: five idle timeouts.
	c.Screen.WaitFor(t, 0, wait, "frame 30")
	if ended, err := c.Wait(10 * time.Millisecond); ended {
		t.Fatalf("a session drawing all along was closed: %v", err)
	}
}
