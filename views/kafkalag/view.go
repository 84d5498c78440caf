package kafkalag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// Heights: the sensor list takes up to a third of the pane, the selected
// sensor's card the rest; below smallPane the list is shown alone.
const smallPane = 9

// layout hands the lists their heights, which depend on the pane's size,
// the filter lines, the number of sensors and the open sensor's card.
func (m *Model) layout() {
	m.list.SetHeight(m.listHeight())
	if s := m.find(m.open); s != nil && m.mode != modeSensors {
		avail := m.height - 1 - m.tickFilter.Lines() - len(m.cardHead(s)) - 2
		parts := partitionBudget(avail, partsWanted(s))
		m.tickList.SetHeight(max(avail-parts, 1))
	}
}

func (m *Model) listHeight() int {
	avail := m.height - 1 - m.filter.Lines()
	if avail < smallPane {
		return max(avail, 1)
	}
	return min(max(len(m.rows), 1), max(avail/3, 3))
}

// partsWanted is the lines the partition table wants: a header and a row
// per partition, or one line saying there is no reading.
func partsWanted(s *api.Sensor) int {
	if len(s.Lag.Partitions) == 0 {
		return 1
	}
	return 1 + len(s.Lag.Partitions)
}

// partitionBudget shares avail lines between the partition table and the
// ticks below it: the whole table when the ticks keep three lines, else
// about half.
func partitionBudget(avail, want int) int {
	if want+3 <= avail {
		return want
	}
	return max(min(want, max(avail/2, 2), avail), 0)
}

// View implements common.Component.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	switch m.mode {
	case modeReset:
		return m.resetView()
	case modeTick:
		return m.tickView()
	case modeSensor:
		return m.sensorView()
	}
	return m.sensorsView()
}

func (m *Model) sensorsView() string {
	st := m.c.Styles
	lines := []string{m.summary}
	if f := m.filter.View(m.width); f != "" {
		lines = append(lines, f)
	}
	rest := m.height - len(lines)
	switch {
	case m.snap == nil:
		lines = append(lines, st.Muted.Render("  waiting for the engine…"))
	case len(m.snap.Sensors) == 0:
		lines = append(lines,
			st.Bold.Render("  no Kafka sensors — add one to a DAG to turn a topic into runs:"),
			st.Muted.Render(`    "sensors": [{"type": "kafka", "topic": "events"}]`),
			st.Muted.Render("  its ticks, consumer lag and partitions show here once it runs."))
	case len(m.rows) == 0:
		lines = append(lines, st.Muted.Render("  no sensor matches the filter · esc clears it"))
	default:
		lines = append(lines, common.RenderList(m.c, &m.list, m.width, m.renderSensorRow))
		card := rest - m.list.Height() - 1
		if s := m.selected(); s != nil && card > 0 {
			lines = append(lines, m.rule(s))
			lines = append(lines, m.card(s, card)...)
		}
	}
	return common.Lines(strings.Join(lines, "\n"), m.width, m.height)
}

// rule separates the sensor list from the selected sensor's card.
func (m *Model) rule(s *api.Sensor) string {
	st := m.c.Styles
	label := fmt.Sprintf("── %s · %s ", keyOf(s), strings.Join(s.Topics, ", "))
	hint := " enter: ticks ──"
	fill := max(m.width-ansi.StringWidth(label)-ansi.StringWidth(hint), 0)
	return st.Section.Render(common.Truncate(label+strings.Repeat("─", fill)+hint, m.width))
}

func (m *Model) renderSensorRow(i, width int) string {
	s := &m.snap.Sensors[m.rows[i]]
	st := m.c.Styles
	status := s.Status
	if isPaused(s) {
		status = "paused"
	}
	name := keyOf(s).String()
	nameW := min(max(m.nameW, 8), 28)
	cells := []string{name}
	widths := []int{nameW}
	if width >= 100 {
		cells = append(cells, strings.Join(s.Topics, ","))
		widths = append(widths, min(max(m.topicsW, 6), 24))
	}
	cells = append(cells, common.Badge(st, orDash(status)), "lag "+lagText(s.Lag), common.Badge(st, orDash(s.Lag.Status)))
	widths = append(widths, 14, 10, 7)
	if width >= 120 {
		cells = append(cells, st.Chart.Render(sparkline(s.History, 16)))
		widths = append(widths, 16)
	}
	cells = append(cells, m.lastTick(s))
	return common.Columns(width, widths, cells...)
}

// lastTick sums up a sensor's newest tick in a few words.
func (m *Model) lastTick(s *api.Sensor) string {
	st := m.c.Styles
	if len(s.Ticks) == 0 {
		if s.Error != "" {
			return st.Error.Render("error: " + common.OneLine(s.Error))
		}
		return st.Muted.Render("no ticks yet")
	}
	t := &s.Ticks[0]
	when := st.Muted.Render("tick " + common.Ago(m.c.Clock.Now(), t.Start) + " · ")
	switch tickState(t) {
	case tickError:
		return when + st.Error.Render("error: "+common.OneLine(t.Error))
	case tickOK:
		return when + fmt.Sprintf("%s msgs", count(int64(t.Messages)))
	}
	return when + st.State(tickState(t)).Render(skipText(t))
}

// skipText says why a tick pulled nothing: the engine's reason starts
// with "backpressure" or is "paused", which read on their own.
func skipText(t *api.Tick) string {
	switch tickState(t) {
	case tickBackpressure, tickPaused:
		return common.OneLine(t.Skipped)
	}
	return "skipped: " + common.OneLine(t.Skipped)
}

// card is the selected sensor's details in height lines: group, lag
// history, error, partitions, and as many of the newest ticks as fit. The
// partitions come first here: the ticks are one enter away.
func (m *Model) card(s *api.Sensor, height int) []string {
	st := m.c.Styles
	lines := m.cardHead(s)
	avail := height - len(lines)
	parts := min(partsWanted(s), max(avail-1, 0))
	lines = append(lines, m.partitionLines(s, parts)...)
	rest := avail - parts
	switch {
	case rest >= 3:
		lines = append(lines, m.tickHeader(s)...)
		for i := 0; i < len(s.Ticks) && i < rest-2; i++ {
			lines = append(lines, "  "+m.tickRow(&s.Ticks[i], m.width-2))
		}
	case rest >= 1:
		lines = append(lines, common.PadRight(st.Section.Render(fmt.Sprintf("Ticks (%d)", len(s.Ticks)))+" "+m.lastTick(s), m.width))
	}
	return lines[:min(len(lines), height)]
}

// cardHead is the group line, the lag history and the sensor's error.
func (m *Model) cardHead(s *api.Sensor) []string {
	st := m.c.Styles
	w := m.width
	lag := &s.Lag
	group := lag.Group
	if group == "" {
		group = s.Group
	}
	var head string
	if lag.At.IsZero() {
		head = st.Label.Render("group ") + group + st.Muted.Render(" · no lag reading yet")
	} else {
		state := lag.State
		if state == "" {
			state = "state unknown"
		}
		head = st.Label.Render("group ") + group + st.Muted.Render(" · ") + state + st.Muted.Render(" · ") +
			common.Plural(lag.Members, "member") + st.Muted.Render(" · ") + common.Badge(st, orDash(lag.Status)) +
			st.Muted.Render(" · read "+common.Ago(m.c.Clock.Now(), lag.At))
	}
	lines := []string{common.PadRight(head, w)}
	// Why the status is what it is: the Burrow rule that decided, and who
	// paused a sensor (whose group then reads as stopped).
	var why []string
	if isPaused(s) {
		why = append(why, st.State("paused").Render(pausedText(s)))
	}
	if lag.Reason != "" {
		why = append(why, st.Muted.Render(common.OneLine(lag.Reason)))
	}
	if len(why) > 0 {
		lines = append(lines, common.PadRight(common.Truncate(st.Label.Render("why ")+strings.Join(why, st.Muted.Render(" · ")), w), w))
	}

	label := st.Label.Render("lag ") + st.Bold.Render(lagText(*lag))
	if n := len(s.History); n > 0 {
		var peak int64
		for _, v := range s.History {
			peak = max(peak, v)
		}
		// Room for the tail " peak 48.2k · last 120 readings".
		room := w - ansi.StringWidth(label) - 1 - 32
		spark := sparkline(s.History, min(max(room, 1), n))
		label += " " + st.Chart.Render(spark) + st.Muted.Render(fmt.Sprintf(" peak %s · last %d readings", count(peak), utf8.RuneCountInString(spark)))
	} else {
		label += st.Muted.Render(" · no history yet")
	}
	lines = append(lines, common.PadRight(label, w))
	if s.Error != "" {
		wrapped := strings.Split(ansi.Wrap(st.Error.Render("error: "+common.OneLine(s.Error)), w, ""), "\n")
		for i, l := range wrapped {
			if i == 2 {
				break // the tick details show it whole
			}
			lines = append(lines, common.PadRight(l, w))
		}
	}
	return lines
}

// partitionLines is the per-partition table in at most budget lines. When
// not every partition fits, the ones with the most lag are shown.
func (m *Model) partitionLines(s *api.Sensor, budget int) []string {
	st := m.c.Styles
	if budget <= 0 {
		return nil
	}
	parts := s.Lag.Partitions
	if len(parts) == 0 {
		return []string{st.Muted.Render("  no partition offsets yet")}
	}
	topicW := 5
	for _, p := range parts {
		topicW = max(topicW, len(p.Topic))
	}
	topicW = min(topicW, max(m.width/4, 8))
	widths := []int{topicW, 4, 10, 10, 9, 8, 8}
	row := func(cells ...string) string { return "  " + common.Columns(m.width-2, widths, cells...) }
	// IN is what producers write (the log end's advance), OUT what the
	// group commits, both per second over the lag monitor's window: the
	// tick's own msg/s is a burst while it pulls, neither of these.
	out := []string{st.Muted.Render(row("TOPIC", "PART", fmt.Sprintf("%10s", "END"), fmt.Sprintf("%10s", "COMMITTED"), fmt.Sprintf("%9s", "LAG"),
		fmt.Sprintf("%8s", "IN/s"), fmt.Sprintf("%8s", "OUT/s"), "STATUS"))}
	shown := parts
	hidden := 0
	if 1+len(parts) > budget {
		n := max(budget-2, 0)
		shown = slices.Clone(parts)
		slices.SortStableFunc(shown, func(a, b api.PartitionLag) int { return cmp.Compare(b.Lag, a.Lag) })
		shown, hidden = shown[:n], len(parts)-n
	}
	for _, p := range shown {
		committed := fmt.Sprint(p.Committed)
		if p.Committed < 0 {
			committed = "none"
		}
		out = append(out, row(p.Topic, fmt.Sprintf("%4d", p.Partition), fmt.Sprintf("%10d", p.LogEnd), fmt.Sprintf("%10s", committed),
			fmt.Sprintf("%9d", p.Lag), fmt.Sprintf("%8.0f", p.ProduceRate), fmt.Sprintf("%8.0f", p.Rate), common.Badge(st, orDash(p.Status))))
	}
	if hidden > 0 {
		var lag int64
		for _, p := range shown {
			lag += p.Lag
		}
		out = append(out, st.Muted.Render(fmt.Sprintf("  … %d more partitions (lag %s); the most lagging shown · z zooms",
			hidden, count(s.Lag.TotalLag-lag))))
	}
	return out[:min(len(out), budget)]
}

// tickHeader is the ticks' title and column header.
func (m *Model) tickHeader(s *api.Sensor) []string {
	st := m.c.Styles
	title := st.Section.Render(fmt.Sprintf("Ticks (%d)", len(s.Ticks))) + st.Muted.Render(" · newest first")
	if m.mode == modeSensor && m.tickFilter.Active() {
		title += st.Muted.Render(fmt.Sprintf(" · %d match the filter", m.tickList.Len()))
	}
	widths, cells := m.tickColumns(m.width-2, "STARTED", "AGO", fmt.Sprintf("%7s", "TOOK"), "BATCHES", fmt.Sprintf("%8s", "MSGS"), "OUTCOME")
	cols := st.Muted.Render("  " + common.Columns(m.width-2, widths, cells...))
	return []string{common.PadRight(title, m.width), common.PadRight(cols, m.width)}
}

// tickColumns drops the AGO column on narrow panes: the outcome (the
// reason a tick skipped, its error) matters more.
func (m *Model) tickColumns(width int, cells ...string) ([]int, []string) {
	if width >= 96 {
		return []int{8, 8, 7, 7, 8}, cells
	}
	return []int{8, 7, 7, 8}, append(cells[:1:1], cells[2:]...)
}

func (m *Model) tickRow(t *api.Tick, width int) string {
	st := m.c.Styles
	var outcome string
	switch state := tickState(t); state {
	case tickError:
		outcome = st.Error.Render("error: " + common.OneLine(t.Error))
	case tickOK:
		outcome = st.Good.Render("ok")
		if r := rate(t); r != "" {
			outcome += st.Muted.Render(" · " + r + " while pulling")
		} else {
			outcome += st.Muted.Render(" · no messages")
		}
	default:
		outcome = st.State(state).Render(skipText(t))
	}
	ago := strings.TrimSuffix(common.Ago(m.c.Clock.Now(), t.Start), " ago")
	widths, cells := m.tickColumns(width, common.Clock(t.Start), st.Muted.Render(ago),
		fmt.Sprintf("%7s", common.Duration(t.Duration)), fmt.Sprintf("%7d", t.Batches), fmt.Sprintf("%8d", t.Messages), outcome)
	return common.Columns(width, widths, cells...)
}

// sensorView is one sensor: its card with the ticks as a live list.
func (m *Model) sensorView() string {
	st := m.c.Styles
	s := m.find(m.open)
	if s == nil {
		head := st.Bold.Render(m.open.String()) + "  " + st.Muted.Render("[no longer configured] · esc back")
		return common.Lines(head, m.width, m.height)
	}
	lines := []string{m.sensorTitle(s)}
	if f := m.tickFilter.View(m.width); f != "" {
		lines = append(lines, f)
	}
	lines = append(lines, m.cardHead(s)...)
	avail := m.height - len(lines) - 2
	lines = append(lines, m.partitionLines(s, partitionBudget(avail, partsWanted(s)))...)
	lines = append(lines, m.tickHeader(s)...)
	if m.tickList.Len() == 0 {
		text := "  no ticks yet"
		if m.tickFilter.Active() {
			text = "  no tick matches the filter · esc clears it"
		}
		lines = append(lines, st.Muted.Render(text))
	} else {
		lines = append(lines, common.RenderList(m.c, &m.tickList, m.width, func(i, w int) string {
			return m.tickRow(&s.Ticks[m.tickIndex(s, i)], w)
		}))
	}
	return common.Lines(strings.Join(lines, "\n"), m.width, m.height)
}

func (m *Model) sensorTitle(s *api.Sensor) string {
	st := m.c.Styles
	status := s.Status
	if isPaused(s) {
		status = "paused"
	}
	return common.PadRight(st.Bold.Render(keyOf(s).String())+st.Muted.Render(" · topics ")+strings.Join(s.Topics, ", ")+"  "+common.Badge(st, orDash(status)), m.width)
}
