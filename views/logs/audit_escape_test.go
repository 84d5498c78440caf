package logs

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// The engine hands out sanitised entries; the pane escapes again, so an
// entry that reached it raw (another API, a test double) shows escaped in
// the row and the detail view alike.
func TestAuditRowAndDetailEscapeRawEntries(t *testing.T) {
	t.Parallel()
	const hostile = "\x1b]0;T\x07\x1b[2J\n\u202e\u009b"
	c := common.NewCommon(styles.ForProfile(termenv.Ascii))
	c.Clock = viewtest.Clock
	m := New(c)
	m.SetSize(160, 20)
	m.Update(common.SnapshotUpdatedMsg{Snap: viewtest.Empty(), Topics: common.AllTopics})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("A")})
	m.Update(AuditLoadedMsg{Entries: []api.AuditEntry{{At: viewtest.Now, Actor: "olga" + hostile, Action: "pause",
		Target: "dag ev" + hostile + "il", Outcome: "error: " + hostile, Reason: "r" + hostile}}})
	row := m.View()
	if strings.ContainsAny(row, "\x1b\x07\u202e\u009b") || !strings.Contains(row, `dag ev\x1b]0;T`) || !strings.Contains(row, `\u202e\u009b`) {
		t.Errorf("the audit row renders raw control characters or loses the escapes:\n%q", row)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	detail := m.View()
	if strings.ContainsAny(detail, "\x1b\x07\u202e\u009b") || !strings.Contains(detail, `\u202e\u009b`) || !strings.Contains(detail, "outcome") {
		t.Errorf("the audit detail renders raw control characters or loses the escapes:\n%q", detail)
	}
}
