package kafkalag

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// refreshTick re-renders the open tick's details; they follow the
// snapshot (the sensor's error and lag move while the tick stays).
func (m *Model) refreshTick() {
	m.pager.SetContent(m.tickDetails())
}

func (m *Model) tickDetails() string {
	st := m.c.Styles
	s := m.find(m.open)
	if s == nil {
		return st.Muted.Render("The sensor is no longer configured.")
	}
	now := m.c.Clock.Now()
	var b strings.Builder
	field := func(label, value string) {
		fmt.Fprintf(&b, "%s %s\n", st.Label.Render(fmt.Sprintf("%-9s", label)), value)
	}
	var found bool
	for i := range s.Ticks {
		t := &s.Ticks[i]
		if t.ID != m.tick {
			continue
		}
		found = true
		field("started", fmt.Sprintf("%s (%s)", common.Clock(t.Start), common.Ago(now, t.Start)))
		field("took", common.Duration(t.Duration))
		field("batches", fmt.Sprint(t.Batches))
		msgs := fmt.Sprint(t.Messages)
		if r := rate(t); r != "" {
			// Not the topic's rate: how fast this tick read the backlog
			// while it pulled (the partitions' rates are below).
			msgs += st.Muted.Render(" (" + r + " consumed while the tick pulled)")
		}
		field("messages", msgs)
		switch state := tickState(t); state {
		case tickError:
			field("outcome", common.Badge(st, state))
			field("error", st.Error.Render(common.OneLine(t.Error)))
		case tickOK:
			field("outcome", st.Good.Render("[ok]")+st.Muted.Render(" batches persisted as runs, then offsets committed"))
		default:
			field("outcome", common.Badge(st, state))
			field("skipped", st.State(state).Render(common.OneLine(t.Skipped)))
			if state == tickBackpressure {
				b.WriteString(st.Muted.Render("          the DAG's queue was full: nothing pulled, lag waits in Kafka") + "\n")
			}
		}
		m.rangeLines(&b, t)
		break
	}
	if !found {
		b.WriteString(st.Muted.Render(fmt.Sprintf("Tick #%d has left the sensor's recent ticks.", m.tick)) + "\n")
	}

	status := s.Status
	if isPaused(s) {
		status = "paused"
	}
	b.WriteString("\n" + st.Section.Render("Sensor now") + "\n")
	field("sensor", fmt.Sprintf("%s %s", m.open, common.Badge(st, orDash(status))))
	if isPaused(s) {
		field("paused", pausedText(s))
	}
	field("topics", strings.Join(s.Topics, ", "))
	state := s.Lag.State
	if state == "" {
		state = "state unknown"
	}
	field("group", fmt.Sprintf("%s · %s · %s", orDash(s.Group), state, common.Plural(s.Lag.Members, "member")))
	field("lag", fmt.Sprintf("%s %s", lagText(s.Lag), common.Badge(st, orDash(s.Lag.Status))))
	if s.Lag.Reason != "" {
		field("because", st.Muted.Render(common.OneLine(s.Lag.Reason)))
	}
	if s.Error != "" {
		field("error", st.Error.Render(common.OneLine(s.Error)))
	}
	return strings.TrimRight(b.String(), "\n")
}

// rangeLines lists what the tick persisted: per batch its partition, first
// to last offset, and the run that carries it.
func (m *Model) rangeLines(b *strings.Builder, t *api.Tick) {
	st := m.c.Styles
	if len(t.Ranges) == 0 {
		if t.Batches > 0 {
			b.WriteString(st.Muted.Render("          offsets and runs were not recorded for this tick") + "\n")
		}
		return
	}
	b.WriteString("\n" + st.Section.Render(fmt.Sprintf("Runs (%d)", len(t.Ranges))) + st.Muted.Render(" · the batches this tick persisted; enter opens the › run") + "\n")
	b.WriteString(st.Muted.Render(fmt.Sprintf("  %-8s %-16s %4s  %-15s %6s", "RUN", "TOPIC", "PART", "OFFSETS", "MSGS")) + "\n")
	for i, r := range t.Ranges {
		mark := "  "
		if i == min(m.runRow, len(t.Ranges)-1) {
			mark = "› "
		}
		fmt.Fprintf(b, "%s%-8s %-16s %4d  %-15s %6d\n", mark, fmt.Sprintf("#%d", r.Run), common.Truncate(r.Topic, 16), r.Partition,
			fmt.Sprintf("%d–%d", r.First, r.Last), r.Last-r.First+1)
	}
}

// openTick is the tick whose details are open, nil when it has left the
// sensor's recent ticks.
func (m *Model) openTick() *api.Tick {
	s := m.find(m.open)
	if s == nil {
		return nil
	}
	for i := range s.Ticks {
		if s.Ticks[i].ID == m.tick {
			return &s.Ticks[i]
		}
	}
	return nil
}

// tickRunKey moves the run marker of the open tick's details, or opens the
// marked run in the run queue (the tick → run link). It reports whether it
// used the key: a tick without runs leaves every key to the pager.
func (m *Model) tickRunKey(msg tea.KeyMsg) (bool, tea.Cmd) {
	t := m.openTick()
	if t == nil || len(t.Ranges) == 0 {
		return false, nil
	}
	k := m.c.Keys
	row := min(m.runRow, len(t.Ranges)-1)
	switch {
	case key.Matches(msg, k.Up):
		m.runRow = max(row-1, 0)
	case key.Matches(msg, k.Down):
		m.runRow = min(row+1, len(t.Ranges)-1)
	case key.Matches(msg, k.Enter):
		return true, common.OpenRun(t.Ranges[row].Run)
	default:
		return false, nil
	}
	m.refreshTick()
	return true, nil
}

// tickView is the tick's title and its details, scrolling.
func (m *Model) tickView() string {
	st := m.c.Styles
	title := st.Bold.Render(fmt.Sprintf("tick #%d", m.tick)) + st.Muted.Render(" of ") + m.open.String()
	if s := m.find(m.open); s != nil {
		for i := range s.Ticks {
			if s.Ticks[i].ID == m.tick {
				title += "  " + common.Badge(st, tickState(&s.Ticks[i]))
				break
			}
		}
	}
	return common.Lines(common.PadRight(title, m.width)+"\n"+m.pager.View(), m.width, m.height)
}
