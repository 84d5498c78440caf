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
	mode := m.mode
	if mode == modeAnalysis {
		mode = m.back
	}
	if mode == modeItem || mode == modeFiles {
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
	now := m.c.Clock.Now()
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
	if it.GitHubAPI != "" {
		// Remembered from staging, shown so a stale one is noticed; the
		// engine approves with the configured endpoint.
		for _, l := range wrapCell(st.Label.Render("staged with GitHub API ")+common.OneLine(it.GitHubAPI)+st.Muted.Render(" · approving uses the current configuration"), w) {
			add(l)
		}
	}
	if it.RejectReason != "" {
		for _, l := range wrapCell(st.Label.Render("rejected because ")+common.OneLine(it.RejectReason), w) {
			add(l)
		}
	}
	if it.Error != "" {
		for _, l := range strings.Split(ansi.Wrap(st.Error.Render("error: "+common.OneLine(it.Error)), w, ""), "\n") {
			add(l)
		}
	}
	if len(it.Subjects) > 0 {
		m.subjectLines(it, w, add)
	}
	m.fileLines(it, w, add)
	m.historyLines(it, w, add)
	switch {
	case len(m.body.diff.lines) > 0:
		d := &m.body.diff
		add(st.Section.Render(fmt.Sprintf("Diff · %s · ", common.Plural(len(d.files), "file"))) + sizeText(st, d.added, d.removed))
	case it.Kind == "archive":
		add(st.Muted.Render("no diff: " + archiveWording(it.State)))
	default:
		add(st.Muted.Render("no diff"))
	}
	return out
}

// subjectLines is the table of the models or reports an item touches.
// Only models have an importance (their centrality in the dbt graph,
// computed by the metapipeline); reports and exposures have none, so their
// table has no such column rather than a column of zeros.
func (m *Model) subjectLines(it *api.Review, w int, add func(string)) {
	st := m.c.Styles
	models := it.Kind == "deprecate" || it.Kind == "delete"
	noun := "Reports"
	if models {
		noun = "Models"
	}
	in := 0
	for _, s := range it.Subjects {
		if s.Excluded == "" {
			in++
		}
	}
	heading := st.Section.Render(fmt.Sprintf("%s (%d)", noun, in))
	if out := len(it.Subjects) - in; out > 0 {
		heading = st.Section.Render(fmt.Sprintf("%s (%d, %d taken out)", noun, in, out))
	}
	if it.Follows != 0 {
		heading += st.Muted.Render(fmt.Sprintf(" · second phase of review #%d", it.Follows))
	}
	picking := m.mode == modeItem && it.ID == m.open && choosable(it)
	switch {
	case picking:
		keys := " · ]/[ pick"
		if m.ekeys.toggle.Enabled() {
			keys += " · space take out/put back · u undo"
		}
		heading += st.Muted.Render(keys)
	case models:
		heading += st.Muted.Render(" · centrality: percentile among the project's models")
	}
	add(heading)
	nameW := 8
	for _, s := range it.Subjects {
		nameW = max(nameW, len(subjectName(s)))
	}
	nameW = min(nameW, max(w/3, 12))
	if !models {
		add(st.Muted.Render(common.Columns(w, []int{2, nameW}, "", "NAME", "REASON")))
		for _, s := range it.Subjects {
			reasonLines(w, []int{2, nameW}, []string{"", subjectName(s)}, s.Reason, st.Muted.Render, add)
		}
		return
	}
	add(st.Muted.Render(common.Columns(w, []int{2, 10, nameW}, "", "CENTRALITY", "NAME", "REASON")))
	now := m.c.Clock.Now()
	for i, s := range it.Subjects {
		mark := ""
		if picking && i == m.pick {
			mark = "▸"
		}
		reason, style := s.Reason, st.Muted.Render
		if s.Excluded != "" {
			reason, style = "not in the branch: "+s.Excluded, st.Warn.Render
		}
		reasonLines(w, []int{2, 10, nameW}, []string{mark, fmt.Sprintf("%9.1f%%", 100*s.Importance), subjectName(s)}, reason, style, add)
		for _, l := range evidenceLines(s.Evidence, now, w) {
			add(st.Muted.Render(l))
		}
	}
}

// reasonLines adds a table row whose last cell, the reason, wraps under
// itself instead of being cut.
func reasonLines(w int, widths []int, cells []string, reason string, style func(...string) string, add func(string)) {
	indent := 0
	for _, cw := range widths {
		indent += cw + 1
	}
	for i, l := range wrapCell(common.OneLine(reason), w-indent) {
		if i == 0 {
			add(common.Columns(w, widths, append(cells, style(l))...))
			continue
		}
		add(strings.Repeat(" ", indent) + style(l))
	}
}

// historyLines are the states the item passed through, oldest first, each
// with its note (a rejection's reason, the pull request opened).
func (m *Model) historyLines(it *api.Review, w int, add func(string)) {
	if len(it.History) == 0 {
		return
	}
	st := m.c.Styles
	add(st.Section.Render(fmt.Sprintf("History (%d)", len(it.History))))
	now := m.c.Clock.Now()
	for _, ev := range it.History {
		reasonLines(w, []int{2, 8, 10}, []string{"", agoText(now, ev.At), string(ev.State)}, ev.Note, st.Muted.Render, add)
	}
}

// archiveWording says what approval does, did or would have done to an
// archive item's reports, by its state.
func archiveWording(state api.ReviewState) string {
	switch state {
	case api.ReviewArchived:
		return "these reports were archived"
	case api.ReviewRejected:
		return "rejected: these reports stay as they are"
	case api.ReviewApproved:
		return "archiving these reports is under way"
	case api.ReviewBlocked:
		return "blocked: these reports cannot be archived"
	case api.ReviewFailed:
		return "approving retries archiving the reports not yet archived"
	}
	return "approving archives these reports"
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
	line := common.OneLine(strings.ReplaceAll(d.lines[j], "\t", "    "))
	if m.side > 0 {
		line = ansi.Cut(line, m.side, m.side+ansi.StringWidth(line))
	}
	line = common.Truncate(line, width)
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
	case modeFiles:
		return m.filesView()
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
				agoText(m.c.Clock.Now(), m.snap.Meta.At))),
		}, "\n")
	}
	if !m.snap.MetaEnabled {
		return strings.Join([]string{
			st.Bold.Render("  no review items — the metapipeline is not configured"),
			st.Muted.Render("  start sluice with --manifest PATH (or DBT_MANIFEST=PATH), the dbt"),
			st.Muted.Render("  project's target/manifest.json, to enable it; it proposes deleting"),
			st.Muted.Render("  unused dbt models, refreshing exposures and archiving stale reports."),
		}, "\n")
	}
	lines := []string{
		st.Bold.Render("  no review items — press m to run the metapipeline"),
		st.Muted.Render("  it proposes deleting unused dbt models, refreshing exposures and"),
		st.Muted.Render("  archiving stale reports; each proposal waits here for a human."),
	}
	if meta := m.snap.Meta; meta != nil {
		lines = append(lines, "", st.Muted.Render(fmt.Sprintf("  last analysis %s: %s, %s · i shows it",
			agoText(m.c.Clock.Now(), meta.At), common.Plural(meta.Candidates, "candidate"), common.Plural(meta.StaleReports, "stale report"))))
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
		st.Muted.Render(age(m.c.Clock.Now().Sub(it.CreatedAt))), m.sizeCell(it), common.OneLine(title))
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
	if m.side > 0 {
		right += st.Muted.Render(fmt.Sprintf(" · col %d (h)", m.side+1))
	}
	head := left + "  " + right
	if m.prompt != nil {
		head = m.promptLine()
	}
	start, _ := m.scroll.window()
	return common.Lines(common.PadRight(head, m.width)+"\n"+m.renderBody(start, max(m.height-1, 0)), m.width, m.height)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
