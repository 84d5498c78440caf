package common

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// Pager scrolls a details text (a DAG's definition, a run with its log tail,
// a diff). With Follow set it sticks to the bottom while the content grows,
// until the user scrolls up.
type Pager struct {
	c      *Common
	vp     viewport.Model
	raw    string
	Follow bool
}

// NewPager returns an empty pager.
func NewPager(c *Common) Pager {
	vp := viewport.New(0, 0)
	return Pager{c: c, vp: vp}
}

// SetSize sets the visible area.
func (p *Pager) SetSize(width, height int) {
	resized := p.vp.Width != width
	p.vp.Width = max(width, 0)
	p.vp.Height = max(height, 1)
	if resized {
		p.vp.SetContent(p.wrapped())
	}
	if p.Follow {
		p.vp.GotoBottom()
	}
}

// SetContent replaces the text, keeping the scroll position (or the bottom
// when following).
func (p *Pager) SetContent(s string) {
	p.raw = s
	p.vp.SetContent(p.wrapped())
	if p.Follow {
		p.vp.GotoBottom()
	}
}

// wrapped breaks long lines at the pager's width: log lines and errors
// are read whole, not cut.
func (p *Pager) wrapped() string {
	if p.vp.Width <= 0 {
		return p.raw
	}
	return ansi.Wrap(p.raw, p.vp.Width, "")
}

// GotoTop scrolls to the first line.
func (p *Pager) GotoTop() { p.vp.GotoTop() }

// Update scrolls for a navigation key and reports whether it was one.
// Scrolling up stops following; reaching the bottom resumes it.
func (p *Pager) Update(msg tea.KeyMsg) bool {
	k := p.c.Keys
	switch {
	case key.Matches(msg, k.Up):
		p.vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		p.vp.ScrollDown(1)
	case key.Matches(msg, k.Top):
		p.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		p.vp.GotoBottom()
	case key.Matches(msg, k.PageUp):
		p.vp.PageUp()
	case key.Matches(msg, k.PageDown):
		p.vp.PageDown()
	default:
		return false
	}
	p.Follow = p.vp.AtBottom()
	return true
}

// ScrollPercent is how far down the view is, 0 to 1.
func (p *Pager) ScrollPercent() float64 { return p.vp.ScrollPercent() }

// View renders the visible lines, padded to the full size.
func (p *Pager) View() string {
	return Lines(p.vp.View(), p.vp.Width, p.vp.Height)
}
