package review

import (
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
)

// chartHeight is the models-per-day chart's height in rows.
const chartHeight = 5

// renderAnalysis renders the analysis view's body at the pane's width,
// once per report (or resize): scrolling then only picks lines.
func (m *Model) renderAnalysis() {
	m.analysis = m.analysis[:0]
	if m.snap == nil || m.snap.Meta == nil || m.width <= 0 {
		m.analysisScroll.setLen(0)
		return
	}
	st := m.c.Styles
	r := m.snap.Meta
	w := m.width
	add := func(s string) { m.analysis = append(m.analysis, common.PadRight(s, w)) }

	if n := len(r.ModelsPerDay); n > 0 {
		add(st.Section.Render(fmt.Sprintf("Models run per day · %s · %s → %s", common.Plural(n, "day"), r.ModelsPerDay[0].Day, r.ModelsPerDay[n-1].Day)))
		for _, l := range dayChart(st, r.ModelsPerDay, w, chartHeight) {
			add(l)
		}
		add(st.Muted.Render(dayStats(r.ModelsPerDay)))
	} else {
		add(st.Muted.Render("no run history yet: the chart fills as the warehouse's models run"))
	}
	add("")

	candidates := m.candidates()
	title := fmt.Sprintf("Centrality · %s, most important first", common.Plural(len(r.Centrality), "model"))
	if len(candidates) > 0 {
		title += st.Muted.Render(" · * proposed for deprecation")
	}
	add(st.Section.Render(title))
	if len(r.Centrality) == 0 {
		add(st.Muted.Render("no models in the manifest"))
	} else {
		widths := []int{min(max(w-2-7*7-4, 12), 40), 6, 6, 6, 6, 6, 6}
		add(st.Muted.Render(common.Columns(w, widths, "MODEL", "DEGREE", "    IN", "   OUT", " CLOSE", " BETWN", " PRANK", "IMPORTANCE")))
		for _, c := range r.Centrality {
			name := modelName(c.ID)
			if candidates[c.ID] {
				name = st.Warn.Render(name + " *")
			}
			add(common.Columns(w, widths, name, num(c.Degree), num(c.InDegree), num(c.OutDegree),
				num(c.Closeness), num(c.Betweenness), num(c.PageRank), st.Bold.Render(num(c.Importance))))
		}
	}
	m.analysisScroll.setLen(len(m.analysis))
}

// candidates are the models a waiting deprecation proposes to delete.
func (m *Model) candidates() map[string]bool {
	out := map[string]bool{}
	for i := range m.snap.Reviews {
		it := &m.snap.Reviews[i]
		if it.Kind != "deprecate" || !canApprove(it.State) {
			continue
		}
		for _, s := range it.Subjects {
			out[s.ID] = true
		}
	}
	return out
}

// modelName shortens a dbt unique id: model.shop.fct_orders → fct_orders.
func modelName(id string) string {
	if rest, ok := strings.CutPrefix(id, "model."); ok {
		if _, name, ok := strings.Cut(rest, "."); ok {
			return name
		}
	}
	return id
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%6.0f", v)
	case v >= 100:
		return fmt.Sprintf("%6.1f", v)
	}
	return fmt.Sprintf("%6.3f", v)
}

var bars = []rune("▁▂▃▄▅▆▇█")

// dayChart draws one bar per day, height rows tall, with a y axis on the
// left and the first and last day under it. Days get two cells when they
// all fit, one otherwise; when even that is too wide the newest days win.
func dayChart(st *styles.Styles, days []api.DayCount, width, height int) []string {
	top := 1
	for _, d := range days {
		top = max(top, d.Count)
	}
	label := fmt.Sprint(top)
	plotW := width - len(label) - 2
	if plotW < 1 || len(days) == 0 || height < 1 {
		return nil
	}
	colW := 2
	if len(days)*2 > plotW {
		colW = 1
	}
	if n := plotW / colW; len(days) > n {
		days = days[len(days)-n:]
	}
	// Eighths of a cell each bar fills; a day with any runs shows at least
	// the lowest block, so "few" never looks like "none".
	fill := make([]int, len(days))
	for i, d := range days {
		fill[i] = (d.Count*height*8 + top/2) / top
		if d.Count > 0 && fill[i] == 0 {
			fill[i] = 1
		}
	}
	rows := make([]string, 0, height+2)
	for r := range height {
		axis := strings.Repeat(" ", len(label)) + " │"
		switch r {
		case 0:
			axis = label + " ┤"
		case height - 1:
			axis = fmt.Sprintf("%*d ┤", len(label), 0)
		}
		var b strings.Builder
		floor := (height - 1 - r) * 8
		for _, f := range fill {
			level := min(max(f-floor, 0), 8)
			cell := " "
			if level > 0 {
				cell = string(bars[level-1])
			}
			b.WriteString(cell)
			if colW == 2 {
				b.WriteByte(' ')
			}
		}
		rows = append(rows, st.Muted.Render(axis)+st.Chart.Render(b.String()))
	}
	pad := strings.Repeat(" ", len(label)+2)
	rows = append(rows, st.Muted.Render(strings.Repeat(" ", len(label))+" └"+strings.Repeat("─", len(days)*colW)))
	first, last := shortDay(days[0].Day), shortDay(days[len(days)-1].Day)
	gap := len(days)*colW - len(first) - len(last)
	if gap >= 1 {
		rows = append(rows, st.Muted.Render(pad+first+strings.Repeat(" ", gap)+last))
	} else {
		rows = append(rows, st.Muted.Render(pad+last))
	}
	return rows
}

// shortDay drops the year: 2025-06-01 → 06-01.
func shortDay(day string) string {
	if len(day) == 10 {
		return day[5:]
	}
	return day
}

func dayStats(days []api.DayCount) string {
	sum, hi, lo := 0, 0, 0
	for i, d := range days {
		sum += d.Count
		if d.Count > days[hi].Count {
			hi = i
		}
		if d.Count < days[lo].Count {
			lo = i
		}
	}
	return fmt.Sprintf("avg %d · max %d on %s · min %d on %s · today %d",
		sum/len(days), days[hi].Count, days[hi].Day, days[lo].Count, days[lo].Day, days[len(days)-1].Count)
}

func (m *Model) analysisView() string {
	st := m.c.Styles
	var head string
	if m.snap == nil || m.snap.Meta == nil {
		head = st.Bold.Render("Analysis") + st.Muted.Render(" · i or esc goes back")
		body := []string{
			st.Bold.Render("  no analysis yet — press m to run the metapipeline"),
			st.Muted.Render("  it ranks every dbt model by centrality and counts the models run per day."),
		}
		return common.Lines(head+"\n\n"+strings.Join(body, "\n"), m.width, m.height)
	}
	r := m.snap.Meta
	head = st.Bold.Render("Analysis") + st.Muted.Render(fmt.Sprintf(" of %s (%s) · ", common.Clock(r.At), agoText(m.c.Clock.Now(), r.At))) +
		fmt.Sprintf("%s · %s", common.Plural(r.Candidates, "candidate"), common.Plural(r.StaleReports, "stale report")) +
		st.Muted.Render(" · "+m.analysisScroll.position())
	start, end := m.analysisScroll.window()
	return common.Lines(common.PadRight(head, m.width)+"\n"+strings.Join(m.analysis[start:end], "\n"), m.width, m.height)
}
