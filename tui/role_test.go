package tui

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The role sits at the right end of the status line and survives a line
// too short for both it and the summary; without a role the line is as
// before.
func TestRoleOnStatusLine(t *testing.T) {
	t.Parallel()
	const role = "victor · viewer (read only)"
	tests := []struct {
		name        string
		role        string
		width       int
		wantSummary bool
	}{
		{"wide", role, 160, true},
		{"narrow: the summary gives way", role, 40, false},
		{"no role", "", 160, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			snap := viewtest.Loaded()
			f := newFakeEngine(snap)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			m := New(ctx, f, Options{Styles: styles.New(false), Clock: viewtest.Clock, ClockInterval: -1, Role: tt.role})
			defer m.Close()
			// Sized wide first: startModel waits for the whole summary.
			c := startModel(t, m, f, 160, 30)
			c.tm.Send(tea.WindowSizeMsg{Width: tt.width, Height: 30})
			screen := c.screen()
			checkFrame(t, screen, tt.width, 30)
			lines := strings.Split(screen, "\n")
			status := lines[len(lines)-2]
			if tt.role != "" && !strings.HasSuffix(strings.TrimRight(status, " "), tt.role) {
				t.Errorf("status line does not end with the role: %q", status)
			}
			if tt.role == "" && strings.Contains(screen, "viewer") {
				t.Errorf("a role shows without one: %q", status)
			}
			sum := strings.Split(summary(snap), " · ")[0]
			if got := strings.Contains(status, sum); got != tt.wantSummary {
				t.Errorf("summary %q shown: %v, want %v: %q", sum, got, tt.wantSummary, status)
			}
		})
	}
}
