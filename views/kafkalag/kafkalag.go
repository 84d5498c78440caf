// Package kafkalag is the console's Kafka pane: every Kafka sensor with its
// status, lag and last tick; the selected sensor's consumer group (state,
// members, Burrow status, lag history as a sparkline, offsets per
// partition) and its ticks as a live list; a tick's details; pausing and
// resuming a sensor.
package kafkalag

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
	modeSensors mode = iota // every sensor, the selected one's card below
	modeSensor              // one sensor, its ticks a list with a cursor
	modeTick                // one tick's details
	modeReset               // the offset reset form of a sensor
)

// sensorKey identifies a sensor across snapshots.
type sensorKey struct {
	dag   string
	index int
}

func keyOf(s *api.Sensor) sensorKey { return sensorKey{s.DAG, s.Index} }

func (k sensorKey) String() string { return fmt.Sprintf("%s#%d", k.dag, k.index) }

// Model is the Kafka pane.
type Model struct {
	c      *common.Common
	snap   *api.Snapshot
	width  int
	height int
	mode   mode

	// The sensor list: indices into snap.Sensors passing the filter.
	rows    []int
	list    common.List
	filter  common.Filter
	nameW   int
	topicsW int
	summary string

	// The open sensor (modeSensor, modeTick) and its ticks: indices into
	// its Ticks passing the tick filter; nil with no filter, so 10,000
	// ticks cost no slice per snapshot.
	open       sensorKey
	ticks      []int
	tickList   common.List
	tickFilter common.Filter

	// The tick whose details are open (modeTick).
	tick int64
	// runRow is the run marked in the open tick's details.
	runRow int
	pager  common.Pager
	// reset is the open offset reset form (modeReset).
	reset *resetForm

	keys paneKeys
}

// paneKeys are shared bindings with the help text this pane means.
type paneKeys struct {
	openSensor, tickDetails, back key.Binding
}

var _ common.Component = (*Model)(nil)

// New returns an empty Kafka pane.
func New(c *common.Common) *Model {
	k := c.Keys
	rename := func(b key.Binding, help string) key.Binding {
		return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, help))
	}
	return &Model{
		c: c, filter: common.NewFilter(c), tickFilter: common.NewFilter(c), pager: common.NewPager(c),
		keys: paneKeys{openSensor: rename(k.Enter, "sensor ticks"), tickDetails: rename(k.Enter, "tick details"), back: rename(k.Back, "back")},
	}
}

// Title implements common.Component.
func (m *Model) Title() string { return "Kafka" }

// Init implements common.Component.
func (m *Model) Init() tea.Cmd { return nil }

// Capturing implements common.Component.
func (m *Model) Capturing() bool {
	return m.filter.Editing() || m.tickFilter.Editing() || m.mode == modeReset
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.pager.SetSize(width, max(height-1, 1))
	m.layout()
	if m.mode == modeTick {
		m.refreshTick()
	}
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SnapshotUpdatedMsg:
		prev := m.snap
		m.snap = msg.Snap
		m.rebuild(prev)
		if m.mode != modeSensors {
			m.rebuildTicks(prev)
		}
		m.summary = m.summarize()
		m.layout()
		if m.mode == modeTick {
			m.refreshTick()
		}
	case common.ClockTickedMsg:
		if m.mode == modeTick {
			m.refreshTick()
		}
	case offsetsPlannedMsg:
		m.planned(msg)
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	return nil
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	switch {
	case m.filter.Editing():
		return m.filter.EditKey(msg, m.refilter, m.layout)
	case m.tickFilter.Editing():
		return m.tickFilter.EditKey(msg, m.refilterTicks, m.layout)
	case m.mode == modeReset:
		return m.resetKey(msg)
	}
	if key.Matches(msg, k.ResetOffsets) && m.mode != modeTick {
		return m.openReset()
	}
	if key.Matches(msg, k.Pause) {
		return m.pause()
	}
	switch m.mode {
	case modeTick:
		if key.Matches(msg, k.Back) {
			m.mode = modeSensor
			return nil
		}
		if used, cmd := m.tickRunKey(msg); used {
			return cmd
		}
		m.pager.Update(msg)
		return nil
	case modeSensor:
		return m.sensorKey(msg)
	}
	return m.sensorsKey(msg)
}

func (m *Model) sensorsKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.list.Update(msg, k) {
		m.layout() // the card below depends on the selection
		return nil
	}
	if handled, cmd := m.filter.ListKey(msg, m.refilter, m.layout); handled {
		return cmd
	}
	if key.Matches(msg, k.Enter) {
		if s := m.selected(); s != nil {
			m.mode, m.open = modeSensor, keyOf(s)
			m.tickFilter.Clear()
			m.rebuildTicks(nil)
			m.tickList.Select(0)
			m.layout()
		}
	}
	return nil
}

func (m *Model) refilter() { m.rebuild(m.snap) }

func (m *Model) refilterTicks() { m.rebuildTicks(m.snap) }

func (m *Model) sensorKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.tickList.Update(msg, k) {
		return nil
	}
	if handled, cmd := m.tickFilter.ListKey(msg, m.refilterTicks, m.layout); handled {
		return cmd
	}
	switch {
	case key.Matches(msg, k.Back):
		m.mode = modeSensors
		m.layout()
	case key.Matches(msg, k.Enter):
		t := m.selectedTick()
		if t == nil {
			return common.Toast("no tick to show yet", true)
		}
		m.mode, m.tick, m.runRow = modeTick, t.ID, 0
		m.refreshTick()
		m.pager.GotoTop()
	}
	return nil
}

// pause asks to pause the selected (or open) sensor, or to resume it.
func (m *Model) pause() tea.Cmd {
	s := m.current()
	if s == nil {
		return common.Toast("no sensor selected", true)
	}
	k, paused := keyOf(s), isPaused(s)
	if paused {
		return common.RequestAction(common.Action{
			Name:   "resuming sensor " + k.String(),
			Prompt: fmt.Sprintf("Resume sensor %s (%s)? Its next tick pulls what waited in Kafka.", k, strings.Join(s.Topics, ", ")),
			Do: func(ctx context.Context, api api.API) (string, error) {
				if err := api.PauseSensor(ctx, k.dag, k.index, false); err != nil {
					return "", err // it names the sensor (api.API)
				}
				return "resumed sensor " + k.String(), nil
			},
		})
	}
	return common.RequestAction(common.Action{
		Name:        "pausing sensor " + k.String(),
		Prompt:      fmt.Sprintf("Pause sensor %s (%s)? Ticks stop pulling; lag builds up in Kafka until you resume it.", k, strings.Join(s.Topics, ", ")),
		Destructive: true,
		Do: func(ctx context.Context, api api.API) (string, error) {
			if err := api.PauseSensor(ctx, k.dag, k.index, true); err != nil {
				return "", err // it names the sensor (api.API)
			}
			return "paused sensor " + k.String(), nil
		},
	})
}

func isPaused(s *api.Sensor) bool { return s.Paused || s.Status == "paused" }

// current is the sensor keys act on: the open one, else the selection.
func (m *Model) current() *api.Sensor {
	if m.mode != modeSensors {
		return m.find(m.open)
	}
	return m.selected()
}

func (m *Model) selected() *api.Sensor {
	i := m.list.Cursor()
	if m.snap == nil || i < 0 || i >= len(m.rows) {
		return nil
	}
	return &m.snap.Sensors[m.rows[i]]
}

func (m *Model) find(k sensorKey) *api.Sensor { return findIn(m.snap, k) }

func findIn(snap *api.Snapshot, k sensorKey) *api.Sensor {
	if snap == nil {
		return nil
	}
	for i := range snap.Sensors {
		if keyOf(&snap.Sensors[i]) == k {
			return &snap.Sensors[i]
		}
	}
	return nil
}

// rebuild recomputes the sensor rows, keeping the cursor on the same
// sensor.
func (m *Model) rebuild(prev *api.Snapshot) {
	var keep *sensorKey
	if i := m.list.Cursor(); prev != nil && i >= 0 && i < len(m.rows) && m.rows[i] < len(prev.Sensors) {
		k := keyOf(&prev.Sensors[m.rows[i]])
		keep = &k
	}
	m.rows = m.rows[:0]
	m.nameW, m.topicsW = 0, 0
	if m.snap == nil {
		m.list.SetLen(0)
		return
	}
	match := m.filter.Matcher()
	for i := range m.snap.Sensors {
		s := &m.snap.Sensors[i]
		if match != nil && !match(sensorText(s)) {
			continue
		}
		m.rows = append(m.rows, i)
		m.nameW = max(m.nameW, len(keyOf(s).String()))
		m.topicsW = max(m.topicsW, len(strings.Join(s.Topics, ",")))
	}
	m.list.SetLen(len(m.rows))
	if keep == nil {
		return
	}
	for i, r := range m.rows {
		if keyOf(&m.snap.Sensors[r]) == *keep {
			m.list.Select(i)
			return
		}
	}
}

func sensorText(s *api.Sensor) string {
	return fmt.Sprintf("%s#%d %s %s %s %s %s", s.DAG, s.Index, strings.Join(s.Topics, " "), s.Group, s.Status, s.Lag.Status, s.Error)
}

// rebuildTicks recomputes the open sensor's tick rows. The list is live:
// with the cursor on the newest tick it stays on the newest as ticks
// arrive; elsewhere it stays on the same tick as the list shifts.
func (m *Model) rebuildTicks(prev *api.Snapshot) {
	s := m.find(m.open)
	if s == nil {
		m.ticks = nil
		m.tickList.SetLen(0)
		return
	}
	var keep int64
	if ps := findIn(prev, m.open); ps != nil && m.tickList.Cursor() > 0 {
		if j := m.tickIndex(ps, m.tickList.Cursor()); j >= 0 {
			keep = ps.Ticks[j].ID
		}
	}
	if match := m.tickFilter.Matcher(); match != nil {
		m.ticks = m.ticks[:0]
		if m.ticks == nil {
			m.ticks = []int{}
		}
		for i := range s.Ticks {
			if match(tickText(&s.Ticks[i])) {
				m.ticks = append(m.ticks, i)
			}
		}
		m.tickList.SetLen(len(m.ticks))
	} else {
		m.ticks = nil
		m.tickList.SetLen(len(s.Ticks))
	}
	if keep == 0 {
		return
	}
	for i := range m.tickList.Len() {
		if s.Ticks[m.tickIndex(s, i)].ID == keep {
			m.tickList.Select(i)
			return
		}
	}
}

// tickIndex maps a row of the tick list to an index into s.Ticks.
func (m *Model) tickIndex(s *api.Sensor, row int) int {
	if m.ticks != nil {
		if row < 0 || row >= len(m.ticks) || m.ticks[row] >= len(s.Ticks) {
			return -1
		}
		return m.ticks[row]
	}
	if row < 0 || row >= len(s.Ticks) {
		return -1
	}
	return row
}

func (m *Model) selectedTick() *api.Tick {
	s := m.find(m.open)
	if s == nil {
		return nil
	}
	if j := m.tickIndex(s, m.tickList.Cursor()); j >= 0 {
		return &s.Ticks[j]
	}
	return nil
}

func tickText(t *api.Tick) string {
	return fmt.Sprintf("#%d %s %d msgs %s %s %s", t.ID, common.Clock(t.Start), t.Messages, tickState(t), t.Skipped, t.Error)
}

func (m *Model) summarize() string {
	st := m.c.Styles
	if m.snap == nil {
		return st.Muted.Render("waiting for the engine…")
	}
	var total int64
	known := false
	counts := map[api.SensorStatus]int{}
	for i := range m.snap.Sensors {
		s := &m.snap.Sensors[i]
		total += s.Lag.TotalLag
		known = known || len(s.Lag.Partitions) > 0
		status := s.Status
		if isPaused(s) {
			status = "paused"
		}
		counts[status]++
	}
	parts := []string{common.Plural(len(m.snap.Sensors), "sensor")}
	if len(m.snap.Sensors) > 0 {
		lag := "—"
		if known {
			lag = count(total)
		}
		parts = append(parts, "total lag "+lag)
	}
	for _, status := range []api.SensorStatus{api.SensorRunning, api.SensorBackpressure, api.SensorPaused, api.SensorError} {
		if n := counts[status]; n > 0 {
			parts = append(parts, common.StateText(st, fmt.Sprintf("%d %s", n, status)))
		}
	}
	return strings.Join(parts, st.Muted.Render(" · "))
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	switch {
	case m.mode == modeReset:
		return []key.Binding{k.Enter, k.Back}
	case m.Capturing():
		return m.filter.EditingHelp()
	case m.mode == modeTick:
		return []key.Binding{k.Up, k.Down, k.Pause, m.keys.back}
	case m.mode == modeSensor:
		return []key.Binding{k.Up, k.Down, m.keys.tickDetails, k.Pause, k.Filter, m.keys.back}
	}
	return []key.Binding{k.Up, k.Down, m.keys.openSensor, k.Pause, k.Filter}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	switch m.mode {
	case modeTick:
		return [][]key.Binding{k.Navigation(), {m.keys.back}, {k.Pause}}
	case modeSensor:
		return [][]key.Binding{k.Navigation(), {k.Filter, m.keys.tickDetails, m.keys.back}, {k.Pause, k.ResetOffsets}}
	}
	return [][]key.Binding{k.Navigation(), {k.Filter, m.keys.openSensor, k.Back}, {k.Pause, k.ResetOffsets}}
}
