// Package review is the console's review pane: the metapipeline's staged
// proposals (delete unused dbt models, refresh exposures, archive stale
// reports), each with its diff, approved or rejected with a keypress. This
// first version lists the items and pages through a diff; the review issue
// deepens it (syntax colouring, file jumps, the analysis charts).
package review

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/snapshot"
	"github.com/sluice-dev/sluice/views/common"
)

// Model is the review pane.
type Model struct {
	c      *common.Common
	snap   *snapshot.Snapshot
	list   common.List
	width  int
	height int
	detail int64
	pager  common.Pager
}

var _ common.Component = (*Model)(nil)

// New returns an empty review pane.
func New(c *common.Common) *Model { return &Model{c: c, pager: common.NewPager(c)} }

// Title implements common.Component.
func (m *Model) Title() string { return "Review" }

// Init implements common.Component.
func (m *Model) Init() tea.Cmd { return nil }

// Capturing implements common.Component.
func (m *Model) Capturing() bool { return false }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.list.SetHeight(max(height-1, 1))
	m.pager.SetSize(width, height-1)
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		m.snap = msg.Snap
		m.list.SetLen(len(m.snap.Reviews))
		if it := m.find(m.detail); it != nil {
			m.pager.SetContent(m.diffText(it))
		}
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if key.Matches(msg, k.Meta) {
		return common.RequestAction(common.Action{
			Name: "queueing the metapipeline",
			Do: func(ctx context.Context, api engine.API) (string, error) {
				return "metapipeline queued", api.RunMeta(ctx)
			},
		})
	}
	if m.detail != 0 {
		switch {
		case key.Matches(msg, k.Back):
			m.detail = 0
		case key.Matches(msg, k.Approve), key.Matches(msg, k.Reject):
			return m.act(m.find(m.detail), key.Matches(msg, k.Approve))
		default:
			m.pager.Update(msg)
		}
		return nil
	}
	if m.list.Update(msg, k) {
		return nil
	}
	it := m.selected()
	switch {
	case key.Matches(msg, k.Enter) && it != nil:
		m.detail = it.ID
		m.pager.SetContent(m.diffText(it))
		m.pager.GotoTop()
	case key.Matches(msg, k.Approve), key.Matches(msg, k.Reject):
		return m.act(it, key.Matches(msg, k.Approve))
	}
	return nil
}

func (m *Model) act(it *snapshot.Review, approve bool) tea.Cmd {
	if it == nil {
		return common.Toast("select a review item", true)
	}
	id, verb := it.ID, "reject"
	if approve {
		verb = "approve"
	}
	return common.RequestAction(common.Action{
		Name:        fmt.Sprintf("%sing review #%d", strings.TrimSuffix(verb, "e"), id),
		Prompt:      fmt.Sprintf("%s review #%d (%s %s)?", strings.ToUpper(verb[:1])+verb[1:], id, it.Kind, it.Branch),
		Destructive: true,
		Do: func(ctx context.Context, api engine.API) (string, error) {
			var err error
			if approve {
				err = api.Approve(ctx, id)
			} else {
				err = api.Reject(ctx, id)
			}
			if err != nil {
				return "", fmt.Errorf("%s review #%d: %w", verb, id, err)
			}
			return fmt.Sprintf("review #%d: %sd", id, verb), nil
		},
	})
}

func (m *Model) selected() *snapshot.Review {
	i := m.list.Cursor()
	if m.snap == nil || i < 0 || i >= len(m.snap.Reviews) {
		return nil
	}
	return &m.snap.Reviews[i]
}

func (m *Model) find(id int64) *snapshot.Review {
	if m.snap == nil || id == 0 {
		return nil
	}
	for i := range m.snap.Reviews {
		if m.snap.Reviews[i].ID == id {
			return &m.snap.Reviews[i]
		}
	}
	return nil
}

// View implements common.Component.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.detail != 0 {
		head := fmt.Sprintf("review #%d", m.detail)
		if it := m.find(m.detail); it != nil {
			head = fmt.Sprintf("review #%d %s %s  %s", it.ID, it.Kind, it.Branch, common.Badge(st, it.State))
		}
		return common.PadRight(st.Bold.Render(head), m.width) + "\n" + m.pager.View()
	}
	if m.snap == nil || len(m.snap.Reviews) == 0 {
		text := "0 items\n" + st.Muted.Render("  nothing to review · m runs the metapipeline")
		return common.Lines(text, m.width, m.height)
	}
	head := common.Plural(len(m.snap.Reviews), "item")
	if m.snap.Meta != nil {
		head += st.Muted.Render(fmt.Sprintf(" · analysis %s: %d candidates, %d stale reports",
			common.Ago(m.c.Now(), m.snap.Meta.At), m.snap.Meta.Candidates, m.snap.Meta.StaleReports))
	}
	return common.PadRight(head, m.width) + "\n" + common.RenderList(m.c, &m.list, m.width, m.renderRow)
}

func (m *Model) renderRow(i, width int) string {
	it := &m.snap.Reviews[i]
	st := m.c.Styles
	age := common.Duration(m.c.Now().Sub(it.CreatedAt).Truncate(time.Second))
	return common.Columns(width, []int{5, 10, 11, 8},
		fmt.Sprintf("#%d", it.ID), it.Kind, common.Badge(st, it.State),
		st.Muted.Render(age), fmt.Sprintf("%s · %d files · %d subjects", orDash(it.Branch), len(it.Files), len(it.Subjects)))
}

func (m *Model) diffText(it *snapshot.Review) string {
	st := m.c.Styles
	var b strings.Builder
	if it.Title != "" {
		b.WriteString(it.Title + "\n")
	}
	if it.URL != "" {
		b.WriteString(st.Label.Render("pull request ") + it.URL + "\n")
	}
	if it.Error != "" {
		b.WriteString(st.Error.Render("error: "+common.OneLine(it.Error)) + "\n")
	}
	for _, s := range it.Subjects {
		b.WriteString(fmt.Sprintf("  • %s  %s  %s\n", s.Name, st.Muted.Render(s.Reason), st.Muted.Render(fmt.Sprintf("importance %.3f", s.Importance))))
	}
	b.WriteString("\n")
	for _, line := range strings.Split(it.Diff, "\n") {
		switch {
		case strings.HasPrefix(line, "+"):
			line = st.Good.Render(line)
		case strings.HasPrefix(line, "-"):
			line = st.Error.Render(line)
		case strings.HasPrefix(line, "@@"):
			line = st.Info.Render(line)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	if m.detail != 0 {
		return []key.Binding{k.Up, k.Down, k.Approve, k.Reject, k.Back}
	}
	return []key.Binding{k.Up, k.Down, k.Enter, k.Approve, k.Reject, k.Meta}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{k.Navigation(), {k.Enter, k.Back}, {k.Approve, k.Reject, k.Meta}}
}
