package dagtree

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The engine hands out sanitised versions and diffs; the version list and
// the diff pager escape again, so what reached them raw shows escaped.
func TestVersionRowsAndDiffEscapeRawText(t *testing.T) {
	t.Parallel()
	const hostile = "\x1b]0;T\x07\x1b[2J\n\u202e\u009b"
	m := newPane(t, viewtest.Loaded())
	name := m.snap.DAGs[0].Name
	m.openVersions(name)
	m.Update(VersionsLoadedMsg{DAG: name, Versions: []api.DAGVersion{
		{DAG: name, Version: 2, SHA256: "b", Source: "s" + hostile},
		{DAG: name, Version: 1, SHA256: "a", Source: "dags/x.json"},
	}})
	list := m.View()
	if strings.ContainsAny(list, "\x1b\x07\u202e\u009b") || !strings.Contains(list, `s\x1b]0;T\x07`) {
		t.Errorf("the version list renders raw control characters or loses the escapes:\n%q", list)
	}
	if rows := strings.Count(list, "dags/x.json"); rows != 1 {
		t.Errorf("want one row per version:\n%s", list)
	}
	m.Update(VersionDiffLoadedMsg{DAG: name, From: 1, To: 2, Diff: "--- a\n+++ b\n@@ -1 +1 @@\n-x\r\n+\ty" + hostile + "\n"})
	diff := m.View()
	if strings.ContainsAny(diff, "\x1b\x07\u202e\u009b\r") || !strings.Contains(diff, `-x\r`) || !strings.Contains(diff, `y\x1b]0;T\x07\x1b[2J`) {
		t.Errorf("the diff pager renders raw control characters or loses the escapes:\n%q", diff)
	}
}
