package dagtree

import (
	"fmt"
	"path"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// View implements common.Component.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	if m.triggerForm != nil {
		return m.triggerFormView()
	}
	if m.backfillForm != nil {
		return m.backfillFormView()
	}
	if m.versions != nil {
		return m.versionsView()
	}
	if m.detail != "" {
		return m.detailHeader() + "\n" + m.Pager.View()
	}
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(m.Filter.ViewUnder(m.summary(), m.Width))
	b.WriteString("\n")
	if len(m.rows) == 0 {
		msg := "no DAGs loaded yet"
		switch {
		case m.snap == nil:
			msg = "waiting for the engine…"
		case m.Filter.Active():
			msg = "no DAG matches the filter"
		}
		b.WriteString(common.Lines(st.Muted.Render("  "+msg), m.Width, m.List.Height()))
		return b.String()
	}
	b.WriteString(common.RenderList(m.c, &m.List, m.Width, m.renderRow))
	return b.String()
}

func (m *Model) summary() string {
	st := m.c.Styles
	if m.snap == nil {
		return st.Muted.Render("no snapshot yet")
	}
	c := &m.counts
	parts := []string{fmt.Sprintf("%d DAGs", len(m.snap.DAGs))}
	if m.Filter.Active() {
		// The status counts below are the whole registry's; say first
		// how much of it the filter shows.
		parts[0] = fmt.Sprintf("%d of %d DAGs match", m.matched, len(m.snap.DAGs))
	}
	for i, s := range statusOrder {
		if c.byStatus[i] > 0 {
			parts = append(parts, st.State(string(s)).Render(fmt.Sprintf("%d %s", c.byStatus[i], s)))
		}
	}
	if c.failingSources > 0 {
		parts = append(parts, st.Error.Render(fmt.Sprintf("%d source(s) failing", c.failingSources)))
	}
	return strings.Join(parts, st.Muted.Render(" · "))
}

var statusOrder = [...]api.DAGStatus{api.DAGActive, api.DAGInvalid, api.DAGDisabled, api.DAGConflict}

// counts are the summary line's figures, counted once per snapshot rather
// than once per frame.
type counts struct {
	byStatus       [len(statusOrder)]int
	failingSources int
}

func countSnapshot(s *api.Snapshot) counts {
	var c counts
	for i := range s.DAGs {
		for j, st := range statusOrder {
			if s.DAGs[i].Status == st {
				c.byStatus[j]++
				break
			}
		}
	}
	for _, src := range s.Sources {
		if !src.OK {
			c.failingSources++
		}
	}
	return c
}

func (m *Model) foldMarker(key string) string {
	if m.folded[key] {
		return "▸ "
	}
	return "▾ "
}

func (m *Model) renderRow(i, width int) string {
	r := m.rows[i]
	st := m.c.Styles
	now := m.c.Clock.Now()
	indent := strings.Repeat("  ", int(r.depth))
	var s string
	switch r.kind {
	case rowSource:
		s = m.foldMarker(r.key) + st.Bold.Render(r.label)
		if r.src >= 0 {
			src := &m.snap.Sources[r.src]
			s += "  " + st.Muted.Render(src.Location) + "  "
			// A git source scans by fetching; its state is the commit.
			scanned, last, commit := "scanned", "last scan", ""
			if c := src.Commit; c != nil {
				scanned, last, commit = "fetched", "last fetch", " · at "+common.OneLine(c.String())
			}
			if src.OK {
				s += st.Good.Render("[ok]") + st.Muted.Render(fmt.Sprintf(" %d files%s · %s %s in %s",
					src.Files, commit, scanned, common.Ago(now, src.LastScan), common.Duration(src.ScanDuration)))
			} else {
				if commit != "" {
					commit = " · keeping " + src.Commit.Short
				}
				s += st.Error.Render("[error] "+common.OneLine(src.Error)) + st.Muted.Render(commit+" · "+last+" "+common.Ago(now, src.LastScan))
			}
		}
	case rowFolder:
		s = indent + m.foldMarker(r.key) + st.Text.Render(r.label+"/")
	case rowDAG:
		d := &m.snap.DAGs[r.dag]
		marker := "  "
		if len(d.Errors) > 0 || d.Def != nil {
			marker = "▾ "
			if m.dagFolded(d.Location) {
				marker = "▸ "
			}
		}
		s = indent + marker + st.Bold.Render(path.Base(d.Name)) + "  " + m.badge(d)
		if d.Def != nil && d.Def.Schedule != "" {
			s += "  " + st.Muted.Render(d.Def.Schedule)
			// An invalid file's last good version keeps firing: say when.
			// A paused DAG does not fire: its [paused] badge says so.
			if !d.NextFire.IsZero() && d.Paused == nil && (d.Status == api.DAGActive || d.Status == api.DAGInvalid) {
				s += st.Muted.Render(" · next " + common.Until(now, d.NextFire))
			}
		}
		if d.Origin != nil {
			s += "  " + st.Muted.Render("@"+d.Origin.Short)
		}
		if d.Status == api.DAGConflict && d.ConflictWith != "" {
			s += "  " + st.Muted.Render("name held by "+d.ConflictWith)
		}
		if p := d.Paused; p != nil {
			s += "  " + st.Warn.Render("[paused]") + st.Muted.Render(" by "+p.By+" "+common.Ago(now, p.At))
		}
		if p := d.Pinned; p != nil {
			s += "  " + st.Warn.Render(pinBadge(d))
		}
	case rowError:
		e := m.snap.DAGs[r.dag].Errors[r.item]
		s = indent + st.Error.Render("✗ "+errorText(e))
	case rowTask:
		n := m.snap.DAGs[r.dag].Def.Nodes[r.item]
		s = indent + "• " + n.ID + "  " + st.Muted.Render(n.Kind)
		if len(n.DependsOn) > 0 {
			s += "  " + st.Muted.Render("← "+strings.Join(n.DependsOn, ", "))
		}
	}
	return common.Truncate(s, width)
}

// badge says a DAG's status in words; an invalid file whose last good
// version still runs says so, because that is what the operator must know.
func (m *Model) badge(d *api.DAG) string {
	st := m.c.Styles
	switch {
	case d.Status == api.DAGInvalid && d.Def != nil:
		return st.State(string(d.Status)).Render("[invalid: last good kept]")
	case d.Status == "":
		return common.Badge(st, "unknown")
	}
	return common.Badge(st, d.Status)
}

func errorText(e api.ErrorLine) string {
	var b strings.Builder
	if e.Node != "" {
		fmt.Fprintf(&b, "node %q: ", e.Node)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(common.OneLine(e.Msg))
	return b.String()
}

// pinBadge says which version runs and which the file holds:
// "[pinned v3, file at v5]".
func pinBadge(d *api.DAG) string {
	file := fmt.Sprintf("file at v%d", d.Version)
	if d.Version == 0 {
		file = "file " + string(d.Status)
	}
	return fmt.Sprintf("[pinned v%d, %s]", d.Pinned.Version, file)
}
