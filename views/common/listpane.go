package common

import tea "github.com/charmbracelet/bubbletea"

// ListPane is the part every single-list pane shares (DAG tree, run
// queue, logs): a summary line, an optional filter line and the list
// below them, and a pager for the details of a row that takes the whole
// pane under a one-line header. Panes embed it and add their rows.
type ListPane struct {
	List   List
	Filter Filter
	Pager  Pager
	Width  int
	Height int
}

// NewListPane returns an empty list with an empty filter and pager.
func NewListPane(c *Common) ListPane {
	return ListPane{Filter: NewFilter(c), Pager: NewPager(c)}
}

// Init implements Component.
func (p *ListPane) Init() tea.Cmd { return nil }

// Capturing implements Component: a filter being typed takes every key.
func (p *ListPane) Capturing() bool { return p.Filter.Editing() }

// SetSize implements Component.
func (p *ListPane) SetSize(width, height int) {
	p.Width, p.Height = width, height
	p.Relayout()
	p.Pager.SetSize(width, height-1)
}

// Relayout gives the list the height left under the summary line and the
// filter line, which comes and goes as the filter is typed and cleared.
func (p *ListPane) Relayout() {
	p.List.SetHeight(max(p.Height-1-p.Filter.Lines(), 1))
}
