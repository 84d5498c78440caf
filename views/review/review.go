// Package review is the console's review pane: the metapipeline's proposals
// (delete unused dbt models, refresh exposures, archive stale reports), each
// with the models or reports it touches and its diff, approved or rejected
// with a keypress; and one key away, the analysis behind them (centrality
// of every model, models run per day).
package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

type mode uint8

const (
	modeList     mode = iota // the items, the selected one previewed below
	modeItem                 // one item in full, its diff scrolling
	modeAnalysis             // the latest metapipeline analysis
	modeFiles                // the open item's files, enter jumps to one
)

// Model is the review pane.
type Model struct {
	c      *common.Common
	snap   *api.Snapshot
	width  int
	height int
	mode   mode
	// back is the mode the analysis view returns to.
	back mode

	rows    []int // indices into snap.Reviews that pass the filter
	list    common.List
	filter  common.Filter
	idWidth int
	summary string // the list's first line, computed once per snapshot

	// open is the item shown in full in modeItem.
	open   int64
	body   itemBody // the open item, or the selected one in the list's preview
	scroll scroller
	side   int         // columns the diff is scrolled sideways
	files  common.List // the file list of the open item

	analysis       []string // rendered at width, once per snapshot
	analysisScroll scroller

	// sizes caches each item's diff size, computed when a row is first
	// drawn: never a scan of every diff per snapshot.
	sizes map[int64]diffSize

	keys paneKeys
	meta metaWatch

	// Picking models in an open deprecation (exclude.go).
	pick   int
	prompt *excludePrompt
	undo   []takenOut
	ekeys  excludeKeys

	// The rejections of this session, for u in the list (unreject.go).
	rejected *rejectLog
	unreject key.Binding
}

// paneKeys are the shared bindings with the help text this pane means.
type paneKeys struct {
	open, back, files, left, right key.Binding
}

var _ common.Component = (*Model)(nil)

// New returns an empty review pane.
func New(c *common.Common) *Model {
	k := c.Keys
	return &Model{
		c:        c,
		filter:   common.NewFilter(c),
		sizes:    map[int64]diffSize{},
		ekeys:    newExcludeKeys(k),
		unreject: unrejectKey(k),
		rejected: &rejectLog{},
		keys: paneKeys{
			open:  key.NewBinding(key.WithKeys(k.Enter.Keys()...), key.WithHelp(k.Enter.Help().Key, "open item")),
			back:  key.NewBinding(key.WithKeys(k.Back.Keys()...), key.WithHelp(k.Back.Help().Key, "back")),
			files: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "files")),
			left:  key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("h/l", "scroll sideways")),
			right: key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("l", "scroll right")),
		},
	}
}

// Title implements common.Component.
func (m *Model) Title() string { return "Review" }

// Init implements common.Component.
func (m *Model) Init() tea.Cmd { return nil }

// Capturing implements common.Component.
func (m *Model) Capturing() bool { return m.filter.Editing() || m.prompt != nil }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	resized := width != m.width
	m.width, m.height = width, height
	if resized {
		m.body.id = 0 // headers are rendered at the width
		m.refreshBody()
		m.renderAnalysis()
	}
	m.layout()
}

// layout hands the list and the scrollers their heights, which depend on
// the number of items and on the filter line.
func (m *Model) layout() {
	m.list.SetHeight(m.listHeight())
	m.scroll.setHeight(m.height - 1)
	m.analysisScroll.setHeight(m.height - 1)
	m.files.SetHeight(max(m.height-1, 1))
}

func (m *Model) listHeight() int {
	avail := m.height - 1 - m.filter.Lines() // the summary line, the filter line
	if m.notice() != "" {
		avail-- // the analysis' notice above the list
	}
	if avail < previewMinHeight+3 {
		return max(avail, 1) // too small for a preview: the list alone
	}
	return min(max(len(m.rows), 1), max(avail/3, 3))
}

// previewMinHeight is the least room worth giving the selected item's
// preview under the list.
const previewMinHeight = 4

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		prev := m.snap
		m.snap = msg.Snap
		toast := m.meta.observe(m.snap)
		if msg.Topics&(api.TopicReviews|api.TopicMeta) != 0 || prev == nil || !sameItems(prev, m.snap) {
			m.rebuild(prev)
		}
		m.summary = m.summarize()
		m.refreshBody()
		// Candidates are marked from the items: reviews change it too.
		if msg.Topics&(api.TopicMeta|api.TopicReviews) != 0 || prev == nil || prev.Meta != m.snap.Meta {
			m.renderAnalysis()
		}
		return toast
	case common.ClockTickedMsg:
		m.summary = m.summarize()
		m.refreshBody() // "created 12m ago" moves
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.filter.Editing() {
		return m.filter.EditKey(msg, m.refilter, m.layout)
	}
	if m.prompt != nil {
		return m.promptKey(msg) // every key answers the question
	}
	switch {
	case key.Matches(msg, k.Meta):
		return m.runMetaKey()
	case key.Matches(msg, k.Analysis):
		if m.mode == modeAnalysis {
			m.mode = m.back
		} else {
			m.back, m.mode = m.mode, modeAnalysis
		}
		return nil
	}
	switch m.mode {
	case modeAnalysis:
		if key.Matches(msg, k.Back) {
			m.mode = m.back
			return nil
		}
		m.analysisScroll.update(msg, k)
		return nil
	case modeItem:
		return m.itemKey(msg)
	case modeFiles:
		return m.filesKey(msg)
	}
	return m.listKey(msg)
}

func (m *Model) listKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.list.Update(msg, k) {
		m.refreshBody()
		return nil
	}
	if handled, cmd := m.filter.ListKey(msg, m.refilter, m.layout); handled {
		return cmd
	}
	switch {
	case key.Matches(msg, k.Enter):
		m.openSelected()
	case key.Matches(msg, k.NextFile):
		// n and N open the item at its first or last file.
		if m.openSelected() {
			m.gotoFile(0)
		}
	case key.Matches(msg, k.PrevFile):
		if m.openSelected() {
			m.gotoFile(len(m.fileRows()) - 1)
		}
	case key.Matches(msg, m.keys.files):
		if m.openSelected() {
			m.openFiles()
		}
	case key.Matches(msg, k.Approve):
		return m.approve(m.selected())
	case key.Matches(msg, k.Reject):
		return m.reject(m.selected())
	case key.Matches(msg, m.unreject):
		return m.undoReject()
	}
	return nil
}

// openSelected shows the selected item in full, from its top.
func (m *Model) openSelected() bool {
	it := m.selected()
	if it == nil {
		return false
	}
	m.mode, m.open, m.side, m.pick = modeItem, it.ID, 0, 0
	m.refreshBody()
	m.scroll.gotoLine(0)
	return true
}

func (m *Model) refilter() {
	m.rebuild(m.snap)
	m.refreshBody()
}

func (m *Model) itemKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if handled, cmd := m.excludeKey(msg); handled {
		return cmd
	}
	switch {
	case key.Matches(msg, k.Back):
		m.mode, m.open, m.side, m.pick = modeList, 0, 0, 0
		m.refreshBody()
	case key.Matches(msg, k.NextFile):
		m.jumpFile(+1)
	case key.Matches(msg, k.PrevFile):
		m.jumpFile(-1)
	case key.Matches(msg, m.keys.files):
		m.openFiles()
	case m.sideKey(msg):
	case key.Matches(msg, k.Approve):
		return m.approve(m.find(m.open))
	case key.Matches(msg, k.Reject):
		return m.reject(m.find(m.open))
	default:
		m.scroll.update(msg, k)
	}
	return nil
}

// jumpFile scrolls the next (dir +1) or previous (-1) file of the diff to
// the top of the view.
func (m *Model) jumpFile(dir int) {
	files := m.body.diff.files
	if len(files) == 0 {
		return
	}
	top := m.scroll.offset
	starts := make([]int, len(files))
	for i, f := range files {
		starts[i] = len(m.body.head) + f.line
	}
	target := -1
	if dir > 0 {
		for _, s := range starts {
			if s > top {
				target = s
				break
			}
		}
	} else {
		for i := len(starts) - 1; i >= 0; i-- {
			if starts[i] < top {
				target = starts[i]
				break
			}
		}
		if target < 0 {
			target = 0 // before the first file: the item's header
		}
	}
	if target >= 0 {
		m.scroll.gotoLine(target)
	}
}

// canApprove reports whether the engine accepts approve for an item in
// this state (approved means an approval that did not finish).
func canApprove(state api.ReviewState) bool {
	return state == api.ReviewStaged || state == api.ReviewFailed || state == api.ReviewApproved
}

// canReject reports whether the engine accepts reject: what it approves,
// and a blocked item, which nobody can approve.
func canReject(state api.ReviewState) bool {
	return canApprove(state) || state == api.ReviewBlocked
}

// actionKeys are the approve and reject bindings an item's state allows,
// so the footer and the help never offer a key the engine would refuse.
func (m *Model) actionKeys(it *api.Review) []key.Binding {
	if it == nil {
		return nil
	}
	var out []key.Binding
	if canApprove(it.State) {
		out = append(out, m.c.Keys.Approve)
	}
	if canReject(it.State) {
		out = append(out, m.c.Keys.Reject)
	}
	return out
}

func (m *Model) approve(it *api.Review) tea.Cmd {
	if it == nil {
		return m.noItem()
	}
	if it.State == api.ReviewBlocked {
		// Say why, not just that: the item's error lists each dangling
		// reference by file:line.
		return common.Toast(fmt.Sprintf("review #%d cannot be approved: %s", it.ID, it.Error), true)
	}
	if !canApprove(it.State) {
		return common.Toast(fmt.Sprintf("review #%d is %s: nothing to approve", it.ID, it.State), true)
	}
	id, what := it.ID, approveWhat(it)
	return common.RequestAction(common.Action{
		Name:        fmt.Sprintf("approving review #%d", id),
		Prompt:      fmt.Sprintf("Approve review #%d (%s)? This %s.", id, it.Kind, what),
		Destructive: true,
		Do: func(ctx context.Context, api api.API) (string, error) {
			err := api.Approve(ctx, id)
			after := findIn(api.Snapshot(), id)
			if err != nil {
				return "", err // it names the review (api.API)
			}
			return approveOutcome(id, after)
		},
	})
}

func approveWhat(it *api.Review) string {
	if it.Kind == "archive" {
		return fmt.Sprintf("archives %s in the BI tool", common.Plural(len(it.Subjects), "report"))
	}
	if it.Kind == "delete-reports" {
		return fmt.Sprintf("deletes %s from the BI tool for good", common.Plural(len(it.Subjects), "archived report"))
	}
	branch := it.Branch
	if branch == "" {
		branch = "its branch"
	}
	return fmt.Sprintf("pushes %s and opens a pull request", branch)
}

// approveOutcome is the toast after Approve returned, read from the
// snapshot the engine published: the pull request, or why there is none.
func approveOutcome(id int64, it *api.Review) (string, error) {
	switch {
	case it == nil:
		return fmt.Sprintf("review #%d approved", id), nil
	case it.State == api.ReviewFailed:
		return "", fmt.Errorf("approving review #%d failed: %s", id, orDash(it.Error))
	case it.URL != "":
		return fmt.Sprintf("review #%d approved · pull request %s", id, it.URL), nil
	case it.State == api.ReviewPushed:
		return fmt.Sprintf("review #%d approved · branch %s pushed (no pull request configured)", id, it.Branch), nil
	case it.State == api.ReviewDeleted:
		return fmt.Sprintf("review #%d approved · %s deleted", id, common.Plural(len(it.Subjects), "report")), nil
	case it.State == api.ReviewArchived:
		return fmt.Sprintf("review #%d approved · %s archived", id, common.Plural(len(it.Subjects), "report")), nil
	}
	return fmt.Sprintf("review #%d approved · now %s", id, it.State), nil
}

func (m *Model) reject(it *api.Review) tea.Cmd {
	if it == nil {
		return m.noItem()
	}
	if !canReject(it.State) {
		return common.Toast(fmt.Sprintf("review #%d is %s: nothing to reject", it.ID, it.State), true)
	}
	id, rejected := it.ID, m.rejected
	what := "The proposal is set aside"
	if it.Branch != "" {
		what = "Its local branch " + it.Branch + " is deleted; nothing is pushed"
	}
	return common.RequestAction(common.Action{
		Name:        fmt.Sprintf("rejecting review #%d", id),
		Prompt:      fmt.Sprintf("Reject review #%d (%s)? %s.", id, it.Kind, what),
		Destructive: true,
		Input:       "Reason (optional, kept in the item's history)",
		DoInput: func(ctx context.Context, api api.API, reason string) (string, error) {
			if err := api.Reject(ctx, id, reason); err != nil {
				return "", err // it names the review (api.API)
			}
			rejected.push(id)
			return fmt.Sprintf("review #%d rejected · u undoes", id), nil
		},
	})
}

func runMeta() tea.Cmd {
	return common.RequestAction(common.Action{
		Name:   "queueing the metapipeline",
		Prompt: "Run the metapipeline now? It analyses dbt and Mode and stages review items; nothing is pushed or archived until approved.",
		Do: func(ctx context.Context, api api.API) (string, error) {
			if err := api.RunMeta(ctx); err != nil {
				return "", fmt.Errorf("running the metapipeline: %w", err)
			}
			return "metapipeline queued · its progress shows in the review pane's header", nil
		},
	})
}

// rebuild recomputes the filtered rows, keeping the cursor on the same
// item when it is still there.
func (m *Model) rebuild(prev *api.Snapshot) {
	var keep int64
	if it := itemAt(prev, m.rows, m.list.Cursor()); it != nil {
		keep = it.ID
	}
	m.rows = m.rows[:0]
	m.idWidth = 2
	if m.snap != nil {
		match := m.filter.Matcher()
		for i := range m.snap.Reviews {
			it := &m.snap.Reviews[i]
			if match != nil && !match(filterText(it)) {
				continue
			}
			m.rows = append(m.rows, i)
			m.idWidth = max(m.idWidth, digits(it.ID)+1)
		}
	}
	m.list.SetLen(len(m.rows))
	m.layout()
	if keep == 0 {
		return
	}
	for i, r := range m.rows {
		if m.snap.Reviews[r].ID == keep {
			m.list.Select(i)
			return
		}
	}
}

func digits(n int64) int {
	d := 1
	for ; n >= 10 || n <= -10; n /= 10 {
		d++
	}
	if n < 0 {
		d++
	}
	return d
}

func filterText(it *api.Review) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s %s %s", it.ID, it.Kind, it.State, it.Branch, it.Title)
	for _, f := range it.Files {
		b.WriteString(" " + f)
	}
	for _, s := range it.Subjects {
		b.WriteString(" " + s.Name)
	}
	return b.String()
}

func itemAt(snap *api.Snapshot, rows []int, i int) *api.Review {
	if snap == nil || i < 0 || i >= len(rows) || rows[i] >= len(snap.Reviews) {
		return nil
	}
	return &snap.Reviews[rows[i]]
}

func (m *Model) selected() *api.Review { return itemAt(m.snap, m.rows, m.list.Cursor()) }

func (m *Model) find(id int64) *api.Review { return findIn(m.snap, id) }

func findIn(snap *api.Snapshot, id int64) *api.Review {
	if snap == nil || id == 0 {
		return nil
	}
	for i := range snap.Reviews {
		if snap.Reviews[i].ID == id {
			return &snap.Reviews[i]
		}
	}
	return nil
}

// sameItems reports whether rows built from a index b the same way.
func sameItems(a, b *api.Snapshot) bool {
	if len(a.Reviews) != len(b.Reviews) {
		return false
	}
	for i := range a.Reviews {
		if a.Reviews[i].ID != b.Reviews[i].ID {
			return false
		}
	}
	return true
}

func (m *Model) summarize() string {
	st := m.c.Styles
	if m.snap == nil {
		return st.Muted.Render("waiting for the engine…")
	}
	counts := map[api.ReviewState]int{}
	for i := range m.snap.Reviews {
		counts[m.snap.Reviews[i].State]++
	}
	parts := []string{common.Plural(len(m.snap.Reviews), "item")}
	for _, state := range []api.ReviewState{api.ReviewStaged, api.ReviewApproved, api.ReviewFailed, api.ReviewPROpen} {
		if n := counts[state]; n > 0 {
			parts = append(parts, common.StateText(st, fmt.Sprintf("%d %s", n, state)))
		}
	}
	s := strings.Join(parts, st.Muted.Render(" · "))
	switch p := m.meta.progress(m.c.Clock.Now()); {
	case m.meta.inFlight != nil:
		s += st.Muted.Render(" · ") + st.Info.Render(p)
	case p != "" && m.meta.failed:
		s += st.Muted.Render(" · ") + st.Error.Render(p)
	case p != "":
		s += st.Muted.Render(" · " + p + " (i)")
	case m.snap.Meta != nil:
		s += st.Muted.Render(fmt.Sprintf(" · analysis %s (i)", agoText(m.c.Clock.Now(), m.snap.Meta.At)))
	}
	return s
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	switch {
	case m.filter.Editing():
		return m.filter.EditingHelp()
	case m.mode == modeAnalysis:
		return append([]key.Binding{k.Up, k.Down, k.PageDown, m.keys.back}, m.metaKeys()...)
	case m.mode == modeFiles:
		return []key.Binding{k.Up, k.Down, m.keys.open, m.keys.back}
	case m.mode == modeItem:
		// Approve and reject before the file list: a narrow footer drops
		// keys from the end.
		it := m.find(m.open)
		out := []key.Binding{k.Down, k.PageDown, k.NextFile, k.PrevFile}
		out = append(out, m.actionKeys(it)...)
		out = append(out, m.itemKeys(it)...)
		return append(out, m.keys.files, m.keys.back)
	}
	sel := m.selected()
	var out []key.Binding
	if sel != nil { // an empty list has nothing to move to or open
		out = []key.Binding{k.Up, k.Down, m.keys.open}
	}
	out = append(out, m.actionKeys(sel)...)
	out = append(out, m.listUndo()...)
	out = append(out, m.metaKeys()...)
	out = append(out, offer(k.Analysis, m.snap != nil && m.snap.Meta != nil)...)
	return append(out, k.Filter)
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	switch m.mode {
	case modeAnalysis:
		return [][]key.Binding{k.Navigation(), {k.Analysis, m.keys.back}, m.metaKeys()}
	case modeFiles:
		return [][]key.Binding{k.Navigation(), {m.keys.open, m.keys.back}}
	case modeItem:
		it := m.find(m.open)
		return [][]key.Binding{k.Navigation(), {k.NextFile, k.PrevFile, m.keys.files, m.keys.left, m.keys.back, k.Analysis}, m.itemKeys(it), append(m.actionKeys(it), m.metaKeys()...)}
	}
	actions := append(m.actionKeys(m.selected()), m.listUndo()...)
	return [][]key.Binding{k.Navigation(), {k.Filter, m.keys.open, k.NextFile, k.PrevFile, m.keys.files, k.Back, k.Analysis}, append(actions, m.metaKeys()...)}
}
