package review

import (
	"strconv"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/views/keys"
)

// scroller is a window of height lines over n. Unlike the shared pager it
// holds no text: the pane renders only the lines in the window, styling
// them as it goes, so a diff of 100,000 lines costs what a screenful does,
// and it can jump to a line (the next file of a diff).
type scroller struct {
	n, offset, height int
}

func (s *scroller) setLen(n int)    { s.n = max(n, 0); s.clamp() }
func (s *scroller) setHeight(h int) { s.height = max(h, 1); s.clamp() }

// limit is the last offset scrolling reaches: the last line at the bottom.
func (s *scroller) limit() int { return max(s.n-s.height, 0) }

// gotoLine puts line i at the top of the window, even near the end (the
// last file of a diff comes to the top, blank lines below it, as in less).
func (s *scroller) gotoLine(i int) { s.offset = min(max(i, 0), max(s.n-1, 0)) }

func (s *scroller) window() (start, end int) { return s.offset, min(s.offset+s.height, s.n) }

// clamp keeps the offset inside the text; past the limit only as far as a
// jump put it.
func (s *scroller) clamp() {
	s.offset = min(max(s.offset, 0), max(s.limit(), min(s.offset, s.n-1)))
}

// update scrolls for a navigation key and reports whether it was one.
func (s *scroller) update(msg tea.KeyMsg, k *keys.KeyMap) bool {
	switch {
	case key.Matches(msg, k.Up):
		s.offset--
	case key.Matches(msg, k.Down):
		if s.offset < s.limit() {
			s.offset++
		}
	case key.Matches(msg, k.Top):
		s.offset = 0
	case key.Matches(msg, k.Bottom):
		s.offset = s.limit()
	case key.Matches(msg, k.PageUp):
		s.offset -= s.height
	case key.Matches(msg, k.PageDown):
		if s.offset < s.limit() {
			s.offset = min(s.offset+s.height, s.limit())
		}
	default:
		return false
	}
	s.clamp()
	return true
}

// position describes the window: "top", "end", "all" or a percentage.
func (s *scroller) position() string {
	switch {
	case s.n <= s.height:
		return "all"
	case s.offset == 0:
		return "top"
	case s.offset >= s.limit():
		return "end"
	}
	return strconv.Itoa(s.offset*100/max(s.n-s.height, 1)) + "%"
}
