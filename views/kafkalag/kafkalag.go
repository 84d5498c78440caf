// Package kafkalag is the console's Kafka pane: per sensor its status, last
// tick, consumer-group lag with a sparkline, and the per-partition offsets.
// This first version renders the snapshot's sensor section as a list; the
// Kafka issue deepens it (tick details, pausing).
package kafkalag

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/snapshot"
	"github.com/sluice-dev/sluice/views/common"
)

// Model is the Kafka pane.
type Model struct {
	c      *common.Common
	snap   *snapshot.Snapshot
	rows   []row
	list   common.List
	width  int
	height int
}

type row struct {
	sensor    int
	partition int // -1 for the sensor's own line
}

var _ common.Component = (*Model)(nil)

// New returns an empty Kafka pane.
func New(c *common.Common) *Model { return &Model{c: c} }

// Title implements common.Component.
func (m *Model) Title() string { return "Kafka" }

// Init implements common.Component.
func (m *Model) Init() tea.Cmd { return nil }

// Capturing implements common.Component.
func (m *Model) Capturing() bool { return false }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.list.SetHeight(max(height-1, 1))
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		m.snap = msg.Snap
		m.rows = m.rows[:0]
		for i := range m.snap.Sensors {
			m.rows = append(m.rows, row{sensor: i, partition: -1})
			for p := range m.snap.Sensors[i].Lag.Partitions {
				m.rows = append(m.rows, row{sensor: i, partition: p})
			}
		}
		m.list.SetLen(len(m.rows))
	case tea.KeyMsg:
		m.list.Update(msg, m.c.Keys)
	}
	return nil
}

// View implements common.Component.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.snap == nil || len(m.snap.Sensors) == 0 {
		return common.Lines(common.PadRight("0 sensors", m.width)+"\n"+st.Muted.Render("  no Kafka sensors configured"), m.width, m.height)
	}
	var total int64
	for i := range m.snap.Sensors {
		total += m.snap.Sensors[i].Lag.TotalLag
	}
	head := fmt.Sprintf("%s · total lag %d", common.Plural(len(m.snap.Sensors), "sensor"), total)
	return common.PadRight(head, m.width) + "\n" + common.RenderList(m.c, &m.list, m.width, m.renderRow)
}

func (m *Model) renderRow(i, width int) string {
	r := m.rows[i]
	st := m.c.Styles
	s := &m.snap.Sensors[r.sensor]
	if r.partition >= 0 {
		p := s.Lag.Partitions[r.partition]
		committed := fmt.Sprint(p.Committed)
		if p.Committed < 0 {
			committed = "none"
		}
		return common.Columns(width, []int{20, 12, 14, 10, 10},
			fmt.Sprintf("  %s/%d", p.Topic, p.Partition), fmt.Sprintf("end %d", p.LogEnd),
			"committed "+committed, fmt.Sprintf("lag %d", p.Lag), fmt.Sprintf("%.0f/s", p.Rate), common.Badge(st, orDash(p.Status)))
	}
	status := s.Status
	if s.Paused {
		status = "paused"
	}
	last := "no ticks yet"
	if len(s.Ticks) > 0 {
		t := s.Ticks[0]
		last = fmt.Sprintf("tick %s: %d msgs", common.Ago(m.c.Now(), t.Start), t.Messages)
		if t.Skipped != "" {
			last = "tick skipped: " + t.Skipped
		}
		if t.Error != "" {
			last = st.Error.Render("tick error: " + common.OneLine(t.Error))
		}
	}
	return common.Columns(width, []int{24, 15, 12, 12},
		fmt.Sprintf("%s#%d %s", s.DAG, s.Index, strings.Join(s.Topics, ",")), common.Badge(st, orDash(status)),
		fmt.Sprintf("lag %d", s.Lag.TotalLag), common.Badge(st, orDash(s.Lag.Status))+" "+common.Sparkline(s.History, 10), last)
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
	return []key.Binding{k.Up, k.Down}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.c.Keys.Navigation()} }
