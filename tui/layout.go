package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
)

// Wide terminals show four panes in a grid with the logs in a strip below;
// smaller ones show one pane at a time behind tabs.
const (
	wideMinWidth  = 140
	wideMinHeight = 34
	// Rows the chrome takes: header, status bar, help footer.
	chromeRows = 3
)

// rect is a pane's frame on the screen, border included in wide mode.
type rect struct{ x, y, w, h int }

type layout struct {
	wide  bool // grid (not zoomed) mode
	boxed bool // panes drawn with borders
	body  rect
	panes [paneCount]rect
}

// relayout recomputes every pane's frame and hands each its inner size.
// Only the root handles tea.WindowSizeMsg; panes learn sizes from here.
func (m *Model) relayout() {
	body := rect{x: 0, y: 1, w: m.width, h: max(m.height-chromeRows, 1)}
	l := layout{body: body}
	switch {
	case m.width >= wideMinWidth && m.height >= wideMinHeight && !m.zoom:
		l.wide, l.boxed = true, true
		logsH := max(body.h/4, 6)
		gridH := body.h - logsH
		topH := gridH / 2
		leftW := body.w / 2
		l.panes[PaneDAGs] = rect{0, body.y, leftW, topH}
		l.panes[PaneRuns] = rect{leftW, body.y, body.w - leftW, topH}
		l.panes[PaneKafka] = rect{0, body.y + topH, leftW, gridH - topH}
		l.panes[PaneReview] = rect{leftW, body.y + topH, body.w - leftW, gridH - topH}
		l.panes[PaneLogs] = rect{0, body.y + gridH, body.w, logsH}
	case m.width >= wideMinWidth && m.height >= wideMinHeight:
		// Zoomed: the focused pane alone, still framed.
		l.boxed = true
		for i := range l.panes {
			l.panes[i] = body
		}
	default:
		for i := range l.panes {
			l.panes[i] = body
		}
	}
	m.lay = l
	for i, p := range m.panes {
		r := l.panes[i]
		if l.boxed {
			p.SetSize(max(r.w-2, 1), max(r.h-2, 1))
		} else {
			p.SetSize(max(r.w, 1), max(r.h, 1))
		}
	}
}

// View implements tea.Model.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.quitting {
		return ""
	}
	var body string
	switch {
	case m.lay.wide:
		body = m.gridView()
	case m.lay.boxed:
		body = m.frame(m.focus, m.panes[m.focus].View(), m.lay.panes[m.focus])
	default:
		body = m.panes[m.focus].View()
	}
	body = common.Lines(body, m.width, m.lay.body.h)
	switch {
	case m.confirm != nil:
		body = overlay(m.c.Styles, body, m.confirmView(), m.width, m.lay.body.h)
	case m.showHelp:
		body = overlay(m.c.Styles, body, m.fullHelpView(), m.width, m.lay.body.h)
	}
	return strings.Join([]string{
		m.headerView(),
		body,
		m.statusLine(),
		common.PadRight(m.shortHelp(), m.width),
	}, "\n")
}

func (m *Model) gridView() string {
	top := lipgloss.JoinHorizontal(lipgloss.Top,
		m.frame(PaneDAGs, m.panes[PaneDAGs].View(), m.lay.panes[PaneDAGs]),
		m.frame(PaneRuns, m.panes[PaneRuns].View(), m.lay.panes[PaneRuns]))
	mid := lipgloss.JoinHorizontal(lipgloss.Top,
		m.frame(PaneKafka, m.panes[PaneKafka].View(), m.lay.panes[PaneKafka]),
		m.frame(PaneReview, m.panes[PaneReview].View(), m.lay.panes[PaneReview]))
	bottom := m.frame(PaneLogs, m.panes[PaneLogs].View(), m.lay.panes[PaneLogs])
	return top + "\n" + mid + "\n" + bottom
}

// frame draws a pane's border with its number and title in the top edge.
// The focused pane gets a heavy border and a marker, so focus shows without
// colour too.
func (m *Model) frame(i int, content string, r rect) string {
	st := m.c.Styles
	border, titleStyle, lineStyle := lipgloss.RoundedBorder(), st.PaneTitle, st.PaneBorder
	title := fmt.Sprintf(" %d %s ", i+1, m.panes[i].Title())
	if i == m.focus {
		border, titleStyle, lineStyle = lipgloss.ThickBorder(), st.PaneTitleFocused, st.PaneBorderFocused
		title = fmt.Sprintf(" ▶ %d %s ", i+1, m.panes[i].Title())
	}
	innerW, innerH := max(r.w-2, 1), max(r.h-2, 1)
	title = common.Truncate(title, max(innerW-2, 0))
	fill := max(innerW-1-lipgloss.Width(title), 0)
	top := lineStyle.Render(border.TopLeft+border.Top) + titleStyle.Render(title) +
		lineStyle.Render(strings.Repeat(border.Top, fill)+border.TopRight)
	lines := strings.Split(common.Lines(content, innerW, innerH), "\n")
	var b strings.Builder
	b.WriteString(top)
	left, right := lineStyle.Render(border.Left), lineStyle.Render(border.Right)
	for _, l := range lines {
		b.WriteString("\n" + left + l + right)
	}
	b.WriteString("\n" + lineStyle.Render(border.BottomLeft+strings.Repeat(border.Bottom, innerW)+border.BottomRight))
	return b.String()
}

func (m *Model) headerView() string {
	st := m.c.Styles
	var tabs []string
	for i, p := range m.panes {
		label := fmt.Sprintf("%d %s", i+1, p.Title())
		if i == m.focus {
			tabs = append(tabs, st.TabActive.Render("["+label+"]"))
		} else {
			tabs = append(tabs, st.Tab.Render(" "+label+" "))
		}
	}
	left := st.HeaderTitle.Render("sluice") + " " + strings.Join(tabs, "")
	right := ""
	if m.zoom && m.lay.boxed {
		right = st.Muted.Render("zoomed · z to unzoom")
	}
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return common.PadRight(left, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}

// statusLine is the status view with the role, if any, at its right end.
// The role is what a viewer must not lose sight of: the status text gives
// way to it when the line is short.
func (m *Model) statusLine() string {
	if m.opts.Who == "" {
		return common.PadRight(m.statusView(), m.width)
	}
	role := m.c.Styles.Muted.Render(common.Truncate(m.opts.Who, m.width-1) + " ")
	left := common.PadRight(m.statusView(), max(m.width-lipgloss.Width(role)-1, 0))
	return common.PadRight(left+" "+role, m.width)
}

// statusView shows work in flight with a spinner, then the toast when one
// is showing, else a one-line summary of the engine.
func (m *Model) statusView() string {
	st := m.c.Styles
	// A store that refuses writes holds every run back: it outranks work
	// in flight, toasts and the summary, and stays until writes succeed.
	alarm := ""
	if m.snap != nil {
		if p := m.snap.Store.Problem(); p != "" {
			alarm = st.ToastError.Render(" ✗ "+common.OneLine(p)+" — runs wait, finished runs retry their commit ") + " "
		}
	}
	return alarm + m.busyOrSummary()
}

func (m *Model) busyOrSummary() string {
	st := m.c.Styles
	busy := ""
	if len(m.busy) > 0 {
		busy = " " + m.spinner.View() + " " + m.busy[len(m.busy)-1] + "…"
		if n := len(m.busy); n > 1 {
			busy += st.Muted.Render(fmt.Sprintf(" (+%d)", n-1))
		}
		if m.toast.text == "" {
			return busy
		}
	}
	return busy + m.toastOrSummary()
}

func (m *Model) toastOrSummary() string {
	st := m.c.Styles
	if m.toast.text != "" {
		if m.toast.isErr {
			return st.ToastError.Render(" ✗ error: " + common.OneLine(m.toast.text) + " ")
		}
		return st.ToastInfo.Render(" ✓ " + common.OneLine(m.toast.text) + " ")
	}
	if m.snap == nil {
		return st.Muted.Render(" connecting to the engine…")
	}
	text := " " + m.summary
	if !m.snap.At.IsZero() {
		text += " · updated " + common.Clock(m.snap.At)
	}
	return st.Muted.Render(text)
}

// summary is the status bar's text for a snapshot, computed once per
// snapshot: counting 10,000 DAGs every frame would cost more than drawing.
func summary(s *api.Snapshot) string {
	invalid := 0
	for i := range s.DAGs {
		if s.DAGs[i].Status == api.DAGInvalid {
			invalid++
		}
	}
	parts := []string{fmt.Sprintf("%d DAGs", len(s.DAGs))}
	if invalid > 0 {
		parts[0] += fmt.Sprintf(" (%d invalid)", invalid)
	}
	parts = append(parts, fmt.Sprintf("%d running", len(s.Runs.Running)), fmt.Sprintf("%d queued", len(s.Runs.Queued)))
	failing := 0
	for _, src := range s.Sources {
		if !src.OK {
			failing++
		}
	}
	if failing > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d sources failing", failing, len(s.Sources)))
	} else {
		parts = append(parts, fmt.Sprintf("%d sources ok", len(s.Sources)))
	}
	return strings.Join(parts, " · ")
}

// overlay draws box centred over bg, cutting bg's lines around it.
func overlay(st *styles.Styles, bg, box string, width, height int) string {
	bgLines := strings.Split(bg, "\n")
	// A blank cell each side keeps cut background text off the border.
	boxLines := strings.Split(st.NewStyle().Padding(0, 1).Render(box), "\n")
	box = strings.Join(boxLines, "\n")
	bw := lipgloss.Width(box)
	x := max((width-bw)/2, 0)
	y := max((height-len(boxLines))/2, 0)
	for i, bl := range boxLines {
		j := y + i
		if j >= len(bgLines) {
			break
		}
		line := bgLines[j]
		left := ansi.Truncate(line, x, "")
		right := ansi.TruncateLeft(line, x+lipgloss.Width(bl), "")
		bgLines[j] = common.PadRight(left+bl+right, width)
	}
	return strings.Join(bgLines, "\n")
}
