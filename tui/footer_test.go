package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

var paneKeys = []struct{ name, key string }{{"dags", "1"}, {"runs", "2"}, {"kafka", "3"}, {"review", "4"}, {"logs", "5"}}

// openKeys open the details of a row in each pane of viewtest.Loaded: in
// the DAG tree the first two rows are a source and a folder.
var openKeys = map[string][]string{
	"dags": {"j", "j", "enter"}, "runs": {"enter"}, "kafka": {"enter"}, "review": {"enter"}, "logs": {"enter"},
}

// On an SSH client's default terminal the footer keeps "? help" and
// "q quit", and "esc back" wherever the pane offers it, in every pane and
// in the view enter opens.
func TestFooterAt80x24KeepsEssentials(t *testing.T) {
	t.Parallel()
	for _, p := range paneKeys {
		for _, view := range []struct {
			name string
			keys []string
		}{{"list", nil}, {"opened", openKeys[p.name]}} {
			t.Run(p.name+"_"+view.name, func(t *testing.T) {
				t.Parallel()
				m, _ := newModel(t, viewtest.Loaded())
				m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
				m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
				m.Update(keyMsg(p.key))
				for _, k := range view.keys {
					m.Update(keyMsg(k))
				}
				screen := m.View()
				checkFrame(t, screen, 80, 24)
				lines := strings.Split(screen, "\n")
				footer := strings.TrimRight(lines[len(lines)-1], " ")
				if !strings.HasSuffix(footer, "? help • q quit") {
					t.Errorf("footer lost help or quit: %q", footer)
				}
				offersBack := false
				for _, b := range m.Pane(m.Focused()).ShortHelp() {
					if b.Help() == m.c.Keys.Back.Help() {
						offersBack = true
					}
				}
				if offersBack && !strings.Contains(footer, "esc back") {
					t.Errorf("the pane offers esc back but the footer hides it: %q", footer)
				}
			})
		}
	}
}

// The `?` dialog fits 80×24 with the global keys in it, and scrolls when
// the pane's keys and the global ones are more than the screen holds.
func TestHelpOverlayFitsAt80x24(t *testing.T) {
	t.Parallel()
	for _, p := range paneKeys {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			m, _ := newModel(t, viewtest.Loaded())
			m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
			m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
			m.Update(keyMsg(p.key))
			m.Update(keyMsg("?"))
			seen := m.View()
			checkFrame(t, seen, 80, 24)
			// Scroll to the end, collecting what shows on the way.
			for i := 0; i < 30; i++ {
				m.Update(keyMsg("j"))
				seen += m.View()
			}
			for _, want := range []string{"next pane", "DAGs", "zoom pane", "rescan", "help", "quit", "or esc closes"} {
				if !strings.Contains(seen, want) {
					t.Errorf("the help dialog never shows %q", want)
				}
			}
			checkFrame(t, m.View(), 80, 24)
			for _, b := range m.Pane(m.Focused()).FullHelp() {
				for _, k := range b {
					if !strings.Contains(seen, k.Help().Desc) {
						t.Errorf("the help dialog never shows the pane's %q", k.Help().Desc)
					}
				}
			}
		})
	}
}

// Goldens of the footer, in each pane's list and in what enter opens, and
// of the `?` dialog of each pane, on an 80×24 terminal.
func TestFooterGolden(t *testing.T) {
	for _, p := range paneKeys {
		for _, view := range []struct {
			name string
			keys []string
		}{{"list", nil}, {"opened", openKeys[p.name]}} {
			t.Run(p.name+"_"+view.name, func(t *testing.T) {
				c := start(t, viewtest.Loaded(), 80, 24)
				c.keys(p.key)
				c.keys(view.keys...)
				screen := c.final()
				checkFrame(t, screen, 80, 24)
				lines := strings.Split(screen, "\n")
				requireGolden(t, lines[len(lines)-1])
			})
		}
	}
}

func TestHelpOverlayGolden(t *testing.T) {
	for _, p := range paneKeys {
		t.Run(p.name, func(t *testing.T) {
			c := start(t, viewtest.Loaded(), 80, 24)
			c.keys(p.key, "?")
			c.waitFor("Keys · ")
			screen := c.final()
			checkFrame(t, screen, 80, 24)
			requireGolden(t, screen)
		})
	}
}

// On a terminal too short for every key the `?` dialog scrolls: it says
// so, keeps the frame, and j reaches the last keys.
func TestHelpOverlayScrolls(t *testing.T) {
	t.Parallel()
	m, _ := newModel(t, viewtest.Loaded())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 16})
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Loaded(), Topics: common.AllTopics})
	m.Update(keyMsg("?"))
	first := m.View()
	checkFrame(t, first, 80, 16)
	if !strings.Contains(first, "↑/↓ scroll") || strings.Contains(first, "q   quit") {
		t.Fatalf("a short screen shows no scroll hint, or everything:\n%s", first)
	}
	m.Update(keyMsg("G"))
	last := m.View()
	checkFrame(t, last, 80, 16)
	if !strings.Contains(last, "q   quit") {
		t.Errorf("scrolled to the bottom, the dialog lacks quit:\n%s", last)
	}
	m.Update(keyMsg("esc"))
	if strings.Contains(m.View(), "Keys · ") {
		t.Error("esc did not close the dialog")
	}
}
