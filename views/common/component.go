// Package common is the contract every console pane shares (soft-serve's
// Component and Common, pug's pane manager): one interface, one bundle of
// shared state, the messages panes and the root model exchange, and the
// small building blocks (windowed list, live filter, formatting) every pane
// uses the same way.
package common

import (
	"github.com/sluice-dev/sluice/engine/clock"

	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/views/keys"
	"github.com/sluice-dev/sluice/views/styles"
)

// Component is one pane of the console. Panes are pointers updated in place;
// the root model owns them and is the only one that calls SetSize.
type Component interface {
	help.KeyMap
	Init() tea.Cmd
	// Update handles a message: key messages only when the pane is focused,
	// every other message always.
	Update(msg tea.Msg) tea.Cmd
	// View renders exactly the size last given to SetSize.
	View() string
	SetSize(width, height int)
	// Title names the pane in tabs and borders.
	Title() string
	// Capturing reports that the pane reads text (a filter being typed):
	// the root then passes every key but ctrl+c to it.
	Capturing() bool
}

// Common is what the root hands every component: theme, keymap, clock.
type Common struct {
	Styles *styles.Styles
	Keys   *keys.KeyMap
	// Clock is the console's clock, injected so golden tests are stable.
	Clock clock.Clock
	// Editor is the command line a run config may be edited with (the
	// local operator's $EDITOR); empty offers the inline text area only.
	Editor string
}

// NewCommon returns a Common with the default keymap and the real clock.
func NewCommon(st *styles.Styles) *Common {
	return &Common{Styles: st, Keys: keys.Default(), Clock: clock.Real}
}
