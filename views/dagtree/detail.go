package dagtree

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/snapshot"
	"github.com/sluice-dev/sluice/views/common"
)

// findDAG finds the DAG whose details are open by its location: a name
// can be claimed by two files (a conflict), a location cannot.
func (m *Model) findDAG(location string) *snapshot.DAG {
	if m.snap == nil {
		return nil
	}
	for i := range m.snap.DAGs {
		if m.snap.DAGs[i].Location == location {
			return &m.snap.DAGs[i]
		}
	}
	return nil
}

func (m *Model) detailHeader() string {
	st := m.c.Styles
	d := m.findDAG(m.detail)
	var title string
	if d != nil {
		title = st.Bold.Render(d.Name) + "  " + m.badge(d)
	} else {
		title = st.Bold.Render(m.detail) + "  " + st.Muted.Render("[gone from the registry]")
	}
	return common.PadRight(title, m.Width)
}

func (m *Model) refreshDetail() {
	m.Pager.SetContent(m.detailText())
}

func (m *Model) detailText() string {
	st := m.c.Styles
	d := m.findDAG(m.detail)
	if d == nil {
		return st.Muted.Render("This DAG is no longer in the registry.")
	}
	now := m.c.Clock.Now()
	var b strings.Builder
	field := func(label, value string) {
		fmt.Fprintf(&b, "%s %s\n", st.Label.Render(fmt.Sprintf("%-11s", label)), value)
	}
	if d.Def != nil && d.Def.Description != "" {
		b.WriteString(common.OneLine(d.Def.Description) + "\n\n")
	}
	field("source", d.Source)
	field("location", d.Location)
	field("checksum", orDash(d.Checksum))
	field("loaded", fmt.Sprintf("%s (%s)", common.Clock(d.LoadedAt), common.Ago(now, d.LoadedAt)))
	if d.Status == snapshot.DAGConflict {
		field("conflict", "name held by "+orDash(d.ConflictWith))
	}
	if d.Def != nil {
		def := d.Def
		field("schedule", orDash(def.Schedule))
		if d.NextFire.IsZero() {
			field("next fire", "-")
		} else {
			field("next fire", fmt.Sprintf("%s (%s)", common.Clock(d.NextFire), common.Until(now, d.NextFire)))
		}
		field("enabled", fmt.Sprint(def.Enabled))
		if len(def.Tags) > 0 {
			field("tags", tags(def.Tags))
		}
		field("limits", fmt.Sprintf("max active runs %d · priority %d", def.MaxActiveRuns, def.Priority))
		for i, s := range def.Sensors {
			topics := s.Topics
			if len(topics) == 0 && s.Topic != "" {
				topics = []string{s.Topic}
			}
			field(fmt.Sprintf("sensor %d", i), fmt.Sprintf("%s %s · batch %d · tick %s · replicas %d",
				s.Type, strings.Join(topics, ","), s.MaxBatchSize, s.TickInterval.D(), s.Replicas))
		}
		b.WriteString("\n" + st.Section.Render(fmt.Sprintf("Tasks (%d)", len(def.Nodes))) + "\n")
		for _, n := range def.Nodes {
			line := "  • " + n.ID + "  " + st.Muted.Render(n.Type)
			if ps := parents(def, n.ID); len(ps) > 0 {
				line += "  " + st.Muted.Render("← "+strings.Join(ps, ", "))
			}
			if cfg := taskSummary(n); cfg != "" {
				line += "  " + cfg
			}
			b.WriteString(line + "\n")
		}
	}
	if len(d.Errors) > 0 {
		b.WriteString("\n" + st.Error.Render(fmt.Sprintf("Errors in the newest version (%d)", len(d.Errors))) + "\n")
		for _, e := range d.Errors {
			b.WriteString("  " + st.Error.Render("✗ "+errorText(e)) + "\n")
		}
		if d.Def != nil {
			b.WriteString(st.Muted.Render("  the last good version below stays active") + "\n")
		}
	}
	if d.Def != nil {
		b.WriteString("\n" + st.Section.Render("Definition") + "\n")
		js, err := json.MarshalIndent(d.Def, "", "  ")
		if err != nil {
			js = []byte(err.Error())
		}
		b.WriteString(string(js) + "\n")
	}
	return b.String()
}

func taskSummary(n dag.Node) string {
	var parts []string
	var c dag.TaskCommon
	switch t := n.Task.(type) {
	case *dag.LocalTask:
		// The whole command is in the definition below; one line here.
		parts = append(parts, common.Truncate(common.OneLine(strings.Join(t.Argv, " ")), 48))
		c = t.TaskCommon
	case *dag.LambdaTask:
		parts = append(parts, t.FunctionName)
		c = t.TaskCommon
	case *dag.SleepTask:
		parts = append(parts, "sleep "+t.Duration.D().String())
		if t.FailTimes > 0 {
			parts = append(parts, fmt.Sprintf("fails %d×", t.FailTimes))
		}
		c = t.TaskCommon
	case *dag.BuiltinTask:
		c = t.TaskCommon
	default:
		return ""
	}
	if c.Timeout > 0 {
		parts = append(parts, "timeout "+c.Timeout.D().String())
	}
	if c.Retry > 0 {
		parts = append(parts, fmt.Sprintf("retry %d", c.Retry))
	}
	return common.OneLine(strings.Join(parts, " · "))
}

func tags(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
