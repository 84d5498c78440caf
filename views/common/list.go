package common

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/sluice-dev/sluice/views/keys"
)

// List is a cursor over n rows of which only Height are visible. It knows
// nothing about the rows: panes keep their own slice and render only the
// window List reports, which is what keeps 10,000 rows smooth.
type List struct {
	n      int
	cursor int
	offset int
	height int
	// skip reports rows the cursor passes over (section headers); nil
	// means every row can be selected.
	skip func(i int) bool
}

// SetSkip sets the rows the cursor passes over, such as section headers
// that have no action of their own. The cursor moves off such a row at once.
func (l *List) SetSkip(skip func(i int) bool) {
	l.skip = skip
	l.settle(1)
}

// Len is the number of rows.
func (l *List) Len() int { return l.n }

// Cursor is the selected row, or -1 when the list is empty.
func (l *List) Cursor() int {
	if l.n == 0 {
		return -1
	}
	return l.cursor
}

// SetLen changes the number of rows, keeping the cursor where it can be.
func (l *List) SetLen(n int) {
	l.n = max(n, 0)
	l.clamp()
	l.settle(1)
}

// SetHeight changes the number of visible rows.
func (l *List) SetHeight(h int) {
	l.height = max(h, 1)
	l.clamp()
	// A list that was too short for the header above its first row
	// shows it once there is room, whichever came first, rows or size.
	l.settle(1)
}

// Height is the number of visible rows.
func (l *List) Height() int { return l.height }

// Select moves the cursor to row i.
func (l *List) Select(i int) {
	l.cursor = i
	l.clamp()
	l.settle(1)
}

// AtBottom reports whether the cursor is on the last row (or the list is
// empty), which panes use to follow a growing list.
func (l *List) AtBottom() bool { return l.n == 0 || l.cursor == l.n-1 }

// Window returns the visible rows [start, end).
func (l *List) Window() (start, end int) {
	return l.offset, min(l.offset+l.height, l.n)
}

// Update moves the cursor for a navigation key and reports whether the key
// was one.
func (l *List) Update(msg tea.KeyMsg, k *keys.KeyMap) bool {
	dir := 1
	switch {
	case key.Matches(msg, k.Up):
		l.cursor--
		dir = -1
	case key.Matches(msg, k.Down):
		l.cursor++
	case key.Matches(msg, k.Top):
		l.cursor = 0
	case key.Matches(msg, k.Bottom):
		l.cursor = l.n - 1
		dir = -1
	case key.Matches(msg, k.PageUp):
		l.cursor -= l.height
		l.offset -= l.height
		dir = -1
	case key.Matches(msg, k.PageDown):
		l.cursor += l.height
		l.offset += l.height
	default:
		return false
	}
	l.clamp()
	l.settle(dir)
	return true
}

// settle moves the cursor off a skipped row, in dir first, then the other
// way; with nothing selectable it stays. When no selectable row lies above
// the cursor the window shows the top, so the first header stays in view.
func (l *List) settle(dir int) {
	if l.skip == nil || l.n == 0 {
		return
	}
	if l.skip(l.cursor) {
		if i := l.next(l.cursor, dir); i >= 0 {
			l.cursor = i
		} else if i := l.next(l.cursor, -dir); i >= 0 {
			l.cursor = i
		}
		l.clamp()
	}
	if l.next(l.cursor-1, -1) < 0 {
		l.offset = 0
		l.clamp()
	}
}

// next is the first selectable row from i on in dir, or -1.
func (l *List) next(i, dir int) int {
	for ; i >= 0 && i < l.n; i += dir {
		if !l.skip(i) {
			return i
		}
	}
	return -1
}

func (l *List) clamp() {
	if l.height < 1 {
		l.height = 1
	}
	l.cursor = min(max(l.cursor, 0), max(l.n-1, 0))
	l.offset = min(max(l.offset, 0), max(l.n-l.height, 0))
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+l.height {
		l.offset = l.cursor - l.height + 1
	}
}

// RenderList renders the visible window of l at width, one line per row:
// a cursor marker ("›", readable without colour) and the row's text, the
// selected row highlighted. Missing rows are blank lines, so the result is
// always exactly l.Height() lines.
func RenderList(c *Common, l *List, width int, row func(i, width int) string) string {
	start, end := l.Window()
	lines := make([]string, 0, l.height)
	for i := start; i < end; i++ {
		text := row(i, width-2)
		if i == l.cursor {
			lines = append(lines, c.Styles.Selected.Render(PadRight(c.Styles.Accent.Render("›")+" "+text, width)))
		} else {
			lines = append(lines, PadRight("  "+text, width))
		}
	}
	for len(lines) < l.height {
		lines = append(lines, strings.Repeat(" ", max(width, 0)))
	}
	return strings.Join(lines, "\n")
}

// PadRight truncates or pads s (which may hold ANSI styling) to exactly
// width cells.
func PadRight(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w := lipgloss.Width(s)
	if w > width {
		return Truncate(s, width)
	}
	return s + strings.Repeat(" ", width-w)
}
