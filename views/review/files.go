package review

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// The file list of an item: the files its branch changes, one key away
// from the item (f), enter jumping to a file in the diff. Diff lines wider
// than the pane scroll sideways (h/l) instead of being cut.

// sideStep is how far h and l move the diff sideways.
const sideStep = 8

// fileRows are the rows of the file list: the diff's files, or the item's
// paths when it carries no diff.
func (m *Model) fileRows() []diffFile {
	if len(m.body.diff.files) > 0 {
		return m.body.diff.files
	}
	it := m.shown()
	if it == nil {
		return nil
	}
	out := make([]diffFile, len(it.Files))
	for i, f := range it.Files {
		out[i] = diffFile{line: -1, name: f}
	}
	return out
}

// openFiles shows the file list of the open item.
func (m *Model) openFiles() {
	m.mode = modeFiles
	m.files.SetLen(len(m.fileRows()))
	m.files.SetHeight(max(m.height-1, 1))
	// Start on the file the diff shows.
	if f := m.body.diff.fileAt(m.scroll.offset - len(m.body.head)); f >= 0 {
		m.files.Select(f)
	}
}

func (m *Model) filesKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.files.Update(msg, k) {
		return nil
	}
	switch {
	case key.Matches(msg, k.Back), key.Matches(msg, m.keys.files):
		m.mode = modeItem
	case key.Matches(msg, k.Enter):
		m.mode = modeItem
		m.gotoFile(m.files.Cursor())
	}
	return nil
}

// gotoFile scrolls file i of the diff to the top of the item view.
func (m *Model) gotoFile(i int) {
	rows := m.fileRows()
	if i < 0 || i >= len(rows) || rows[i].line < 0 {
		return
	}
	m.scroll.gotoLine(len(m.body.head) + rows[i].line)
}

// sideKey scrolls the diff sideways; it reports whether msg was h or l.
func (m *Model) sideKey(msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, m.keys.left):
		m.side = max(m.side-sideStep, 0)
	case key.Matches(msg, m.keys.right):
		if m.side+m.width < m.body.diff.widest() {
			m.side += sideStep
		}
	default:
		return false
	}
	return true
}

// widest is the width of the diff's longest line, as drawn (tabs as four
// spaces), computed once per parse.
func (d *parsedDiff) widest() int {
	if d.width < 0 {
		d.width = 0
		for _, l := range d.lines {
			d.width = max(d.width, ansi.StringWidth(strings.ReplaceAll(l, "\t", "    ")))
		}
	}
	return d.width
}

func (m *Model) filesView() string {
	st := m.c.Styles
	it := m.find(m.open)
	if it == nil {
		return m.itemView()
	}
	rows := m.fileRows()
	head := st.Bold.Render(fmt.Sprintf("#%d %s", it.ID, it.Kind)) + " " +
		st.Muted.Render(fmt.Sprintf("· %s · enter jumps to the file · esc back", common.Plural(len(rows), "file")))
	if len(rows) == 0 {
		return common.Lines(common.PadRight(head, m.width)+"\n"+st.Muted.Render("  this item changes no file"), m.width, m.height)
	}
	body := common.RenderList(m.c, &m.files, m.width, func(i, width int) string {
		f := rows[i]
		size := ""
		if f.line >= 0 {
			size = sizeText(st, f.added, f.removed)
		}
		return common.Columns(width, []int{12}, size, f.name)
	})
	return common.Lines(common.PadRight(head, m.width)+"\n"+body, m.width, m.height)
}

// fileLines are the item header's list of files: where the branch
// changes what, before the diff itself.
func (m *Model) fileLines(it *api.Review, w int, add func(string)) {
	st := m.c.Styles
	rows := m.fileRows()
	if len(rows) == 0 {
		return
	}
	add(st.Section.Render(fmt.Sprintf("Files (%d)", len(rows))) + st.Muted.Render(" · f lists them, enter jumps"))
	for _, f := range rows {
		size := ""
		if f.line >= 0 {
			size = sizeText(st, f.added, f.removed)
		}
		add(common.Columns(w, []int{2, 12}, "", size, f.name))
	}
}

// wrapCell wraps text to width on spaces; a word longer than the width is
// cut there, so no line is wider than the cell.
func wrapCell(text string, width int) []string {
	if width <= 0 {
		return []string{text}
	}
	return strings.Split(ansi.Wrap(text, width, ""), "\n")
}
