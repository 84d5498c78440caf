package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
)

// itemBody is what the pane shows of one item: header lines rendered at the
// pane's width, then the diff, whose lines are styled only when drawn.
type itemBody struct {
	id   int64
	head []string
	diff parsedDiff
	// diffOf identifies the diff text parsed into diff, so a snapshot
	// that did not change it does not parse it again.
	diffOf diffKey
}

type diffKey struct {
	id      int64
	n       int
	updated time.Time
}

func (b *itemBody) lines() int { return len(b.head) + len(b.diff.lines) }

// diffSize is the size column of an item.
type diffSize struct {
	key                   diffKey
	added, removed, files int
}

// shown is the item the body is about: the open one, or the selection.
func (m *Model) shown() *api.Review {
	if m.mode == modeItem || (m.mode == modeAnalysis && m.back == modeItem) {
		return m.find(m.open)
	}
	return m.selected()
}

// refreshBody rebuilds the body of the shown item. The header is cheap and
// always rebuilt (state, URL and error change under it); the diff is
// parsed again only when its text changed.
func (m *Model) refreshBody() {
	it := m.shown()
	if it == nil {
		m.body = itemBody{}
		m.scroll.setLen(0)
		return
	}
	dk := diffKey{id: it.ID, n: len(it.Diff), updated: it.UpdatedAt}
	if m.body.diffOf != dk {
		m.body.diff = parseDiff(it.Diff)
		m.body.diffOf = dk
		m.sizes[it.ID] = diffSize{key: dk, added: m.body.diff.added, removed: m.body.diff.removed, files: len(m.body.diff.files)}
	}
	m.body.id = it.ID
	m.body.head = m.headLines(it)
	m.scroll.setLen(m.body.lines())
}

func (m *Model) headLines(it *api.Review) []string {
	st := m.c.Styles
	w := max(m.width, 1)
	now := m.c.Now()
	var out []string
	add := func(s string) { out = append(out, common.PadRight(s, w)) }
	if it.Title != "" {
		add(st.Bold.Render(common.OneLine(it.Title)))
	}
	var where []string
	if it.Branch != "" {
		b := st.Label.Render("branch ") + common.OneLine(it.Branch)
		if it.Base != "" {
			b += st.Label.Render(" on ") + common.OneLine(it.Base)
		}
		where = append(where, b)
	}
	where = append(where, st.Label.Render("created ")+agoText(now, it.CreatedAt))
	if !it.UpdatedAt.IsZero() && !it.UpdatedAt.Equal(it.CreatedAt) {
		where = append(where, st.Label.Render("updated ")+agoText(now, it.UpdatedAt))
	}
	add(strings.Join(where, st.Muted.Render(" · ")))
	if it.URL != "" {
		pr := st.Label.Render("pull request ") + st.Info.Render(common.OneLine(it.URL))
		if it.Checks != "" {
			pr += st.Muted.Render(" · ") + st.Label.Render("checks ") + checksText(st, it.Checks)
		}
		switch it.State {
		case api.ReviewMerged:
			pr += st.Muted.Render(" · merged")
		case api.ReviewDeclined:
			pr += st.Muted.Render(" · closed unmerged: a reviewer declined")
		}
		add(pr)
	}
	if it.Error != "" {
		for _, l := range strings.Split(ansi.Wrap(st.Error.Render("error: "+common.OneLine(it.Error)), w, ""), "\n") {
			add(l)
		}
	}
	if len(it.Subjects) > 0 {
		noun := "Models"
		if it.Kind != "deprecate" {
			noun = "Reports"
		}
		add(st.Section.Render(fmt.Sprintf("%s (%d)", noun, len(it.Subjects))))
		nameW := 8
		for _, s := range it.Subjects {
			nameW = max(nameW, len(subjectName(s)))
		}
		nameW = min(nameW, max(w/3, 12))
		add(st.Muted.Render(common.Columns(w, []int{2, 10, nameW}, "", "IMPORTANCE", "NAME", "REASON")))
		for _, s := range it.Subjects {
			add(common.Columns(w, []int{2, 10, nameW}, "", fmt.Sprintf("%10.4f", s.Importance), subjectName(s), st.Muted.Render(common.OneLine(s.Reason))))
			for _, l := range evidenceLines(s.Evidence, now, w) {
				add(st.Muted.Render(l))
			}
		}
	}
	switch {
	case len(m.body.diff.lines) > 0:
		d := &m.body.diff
		add(st.Section.Render(fmt.Sprintf("Diff · %s · ", common.Plural(len(d.files), "file"))) + sizeText(st, d.added, d.removed))
	case it.Kind == "archive":
		add(st.Muted.Render("no diff: approving archives these reports"))
	default:
		add(st.Muted.Render("no diff"))
	}
	return out
}

func subjectName(s api.ReviewSubject) string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// sizeText is "+12 -40": the signs carry the meaning, colour helps.
func sizeText(st *styles.Styles, added, removed int) string {
	return st.DiffAdded.Render(fmt.Sprintf("+%d", added)) + " " + st.DiffRemoved.Render(fmt.Sprintf("-%d", removed))
}

// bodyLine renders line i of the body at width.
func (m *Model) bodyLine(i, width int) string {
	if i < len(m.body.head) {
		return m.body.head[i]
	}
	d := &m.body.diff
	j := i - len(m.body.head)
	if j < 0 || j >= len(d.lines) {
		return ""
	}
	st := m.c.Styles
	line := common.Truncate(common.OneLine(strings.ReplaceAll(d.lines[j], "\t", "    ")), width)
	switch d.kinds[j] {
	case lineAdded:
		line = st.DiffAdded.Render(line)
	case lineRemoved:
		line = st.DiffRemoved.Render(line)
	case lineHunk:
		line = st.DiffHunk.Render(line)
	case lineFile:
		line = st.DiffFile.Render(line)
	case lineFileMeta:
		line = st.DiffMeta.Render(line)
	case lineNote:
		line = st.Muted.Render(line)
	}
	return line
}

// renderBody renders height lines of the body from line start.
func (m *Model) renderBody(start, height int) string {
	lines := make([]string, height)
	for i := range lines {
		lines[i] = common.PadRight(m.bodyLine(start+i, m.width), m.width)
	}
	return strings.Join(lines, "\n")
}

// View implements common.Component.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	switch m.mode {
	case modeAnalysis:
		return m.analysisView()
	case modeItem:
		return m.itemView()
	}
	return m.listView()
}

func (m *Model) listView() string {
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(m.filter.ViewUnder(m.summary, m.width))
	used := 1 + strings.Count(b.String(), "\n")
	rest := m.height - used
	b.WriteString("\n")
	switch {
	case m.snap == nil:
		b.WriteString(common.Lines(st.Muted.Render("  waiting for the engine…"), m.width, rest))
		return common.Lines(b.String(), m.width, m.height)
	case len(m.snap.Reviews) == 0:
		b.WriteString(common.Lines(m.emptyText(), m.width, rest))
		return common.Lines(b.String(), m.width, m.height)
	case len(m.rows) == 0:
		b.WriteString(common.Lines(st.Muted.Render("  no item matches the filter · esc clears it"), m.width, rest))
		return common.Lines(b.String(), m.width, m.height)
	}
	if n := m.notice(); n != "" {
		// The analysis proposed nothing on purpose: say why, in place of
		// the deprecation item it did not stage.
		b.WriteString(common.PadRight(st.Warn.Render("  "+n), m.width) + "\n")
		rest--
	}
	b.WriteString(common.RenderList(m.c, &m.list, m.width, m.renderRow))
	if preview := rest - m.list.Height() - 1; preview >= 1 {
		b.WriteString("\n" + m.previewRule())
		b.WriteString("\n" + m.renderBody(0, preview))
	}
	return common.Lines(b.String(), m.width, m.height)
}

func (m *Model) emptyText() string {
	st := m.c.Styles
	if n := m.notice(); n != "" {
		return strings.Join([]string{
			st.Warn.Render("  " + n),
			st.Muted.Render(fmt.Sprintf("  last analysis %s: nothing is proposed for deletion until a consumer is known · i shows it",
				agoText(m.c.Now(), m.snap.Meta.At))),
		}, "\n")
	}
	lines := []string{
		st.Bold.Render("  no review items — press m to run the metapipeline"),
		st.Muted.Render("  it proposes deleting unused dbt models, refreshing exposures and"),
		st.Muted.Render("  archiving stale reports; each proposal waits here for a human."),
	}
	if meta := m.snap.Meta; meta != nil {
		lines = append(lines, "", st.Muted.Render(fmt.Sprintf("  last analysis %s: %s, %s · i shows it",
			agoText(m.c.Now(), meta.At), common.Plural(meta.Candidates, "candidate"), common.Plural(meta.StaleReports, "stale report"))))
	}
	return strings.Join(lines, "\n")
}

// notice is the latest analysis' reason for proposing no clean-up.
func (m *Model) notice() string {
	if m.snap == nil || m.snap.Meta == nil {
		return ""
	}
	return m.snap.Meta.Notice
}

// previewRule separates the list from the selected item's preview.
func (m *Model) previewRule() string {
	st := m.c.Styles
	it := m.selected()
	label := "── "
	if it != nil {
		label += fmt.Sprintf("#%d %s ", it.ID, it.Kind)
	}
	hint := " enter opens ──"
	fill := max(m.width-ansi.StringWidth(label)-ansi.StringWidth(hint), 0)
	return common.PadRight(st.Section.Render(label+strings.Repeat("─", fill)+hint), m.width)
}

func (m *Model) renderRow(i, width int) string {
	it := &m.snap.Reviews[m.rows[i]]
	st := m.c.Styles
	title := it.Title
	if title == "" {
		title = orDash(it.Branch)
	}
	return common.Columns(width, []int{m.idWidth, 9, 10, 4, 18},
		fmt.Sprintf("#%d", it.ID), it.Kind, common.Badge(st, it.State),
		st.Muted.Render(age(m.c.Now().Sub(it.CreatedAt))), m.sizeCell(it), common.OneLine(title))
}

// sizeCell is "+12 -40 · 3 files" for a branch, "3 reports" for reports.
func (m *Model) sizeCell(it *api.Review) string {
	if it.Diff == "" {
		if it.Kind == "archive" {
			return common.Plural(len(it.Subjects), "report")
		}
		return common.Plural(len(it.Files), "file")
	}
	dk := diffKey{id: it.ID, n: len(it.Diff), updated: it.UpdatedAt}
	sz, ok := m.sizes[it.ID]
	if !ok || sz.key != dk {
		sz.key = dk
		sz.added, sz.removed, sz.files = diffStat(it.Diff)
		m.sizes[it.ID] = sz
	}
	st := m.c.Styles
	return sizeText(st, sz.added, sz.removed) + st.Muted.Render(" · "+common.Plural(sz.files, "file"))
}

// agoText is a compact "12m ago", "never" for the zero time.
func agoText(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return age(now.Sub(t)) + " ago"
}

// age is a compact age: 45s, 12m, 26h, 12d.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func (m *Model) itemView() string {
	st := m.c.Styles
	it := m.find(m.open)
	if it == nil {
		head := st.Bold.Render(fmt.Sprintf("review #%d", m.open)) + "  " + st.Muted.Render("[no longer in the snapshot] · esc back")
		return common.Lines(head, m.width, m.height)
	}
	left := st.Bold.Render(fmt.Sprintf("#%d %s", it.ID, it.Kind)) + " " + common.Badge(st, it.State)
	right := st.Muted.Render(m.scroll.position())
	if d := &m.body.diff; len(d.files) > 0 {
		f := d.fileAt(m.scroll.offset - len(m.body.head))
		if f >= 0 {
			right = st.Muted.Render(fmt.Sprintf("file %d/%d ", f+1, len(d.files))) + d.files[f].name + st.Muted.Render(" · "+m.scroll.position())
		}
	}
	head := left + "  " + right
	start, _ := m.scroll.window()
	return common.Lines(common.PadRight(head, m.width)+"\n"+m.renderBody(start, max(m.height-1, 0)), m.width, m.height)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
