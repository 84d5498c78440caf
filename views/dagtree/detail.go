package dagtree

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// findDAG finds the DAG whose details are open by its location: a name
// can be claimed by two files (a conflict), a location cannot.
func (m *Model) findDAG(location string) *api.DAG {
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
	if d.Status == api.DAGConflict {
		field("conflict", "name held by "+orDash(d.ConflictWith))
	}
	if d.Version != 0 {
		field("version", fmt.Sprintf("v%d", d.Version))
	}
	if p := d.Pinned; p != nil {
		field("pinned", fmt.Sprintf("%s by %s at %s (%s)", pinBadge(d), p.By, common.Clock(p.At), common.Ago(now, p.At)))
	}
	if p := d.Paused; p != nil {
		paused := fmt.Sprintf("by %s at %s (%s)", p.By, common.Clock(p.At), common.Ago(now, p.At))
		if p.Reason != "" {
			paused += ": " + p.Reason
		}
		field("paused", paused)
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
			field(fmt.Sprintf("sensor %d", i), s.Summary)
		}
		b.WriteString("\n" + st.Section.Render(fmt.Sprintf("Tasks (%d)", len(def.Nodes))) + "\n")
		for _, n := range def.Nodes {
			line := "  • " + n.ID + "  " + st.Muted.Render(n.Kind)
			if len(n.DependsOn) > 0 {
				line += "  " + st.Muted.Render("← "+strings.Join(n.DependsOn, ", "))
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
		b.WriteString(d.Def.Definition + "\n")
	}
	return b.String()
}

// taskSummary is a node's settings on one line, its command shortened.
func taskSummary(n api.Node) string {
	var parts []string
	if n.Command != "" {
		// The whole command is in the definition below; one line here.
		parts = append(parts, common.Truncate(common.OneLine(n.Command), 48))
	}
	if n.Summary != "" {
		parts = append(parts, n.Summary)
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
