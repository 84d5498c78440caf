package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	sanitize "github.com/sluice-dev/sluice/engine/api/text"
)

// toast is a one-line message in the status bar that goes away by itself:
// results after a few seconds, errors after longer.
type toast struct {
	text  string
	isErr bool
	seq   int
}

type toastExpiredMsg struct{ seq int }

const (
	toastTTL      = 5 * time.Second
	toastErrorTTL = 12 * time.Second
)

func (m *Model) showToast(text string, isErr bool) tea.Cmd {
	m.toastSeq++
	// Errors of actions quote what servers and files said: escaped, on one
	// line, like every outside string the console shows.
	m.toast = toast{text: sanitize.Line(text), isErr: isErr, seq: m.toastSeq}
	ttl := toastTTL
	if isErr {
		ttl = toastErrorTTL
	}
	seq := m.toastSeq
	return tea.Tick(ttl, func(time.Time) tea.Msg { return toastExpiredMsg{seq: seq} })
}
