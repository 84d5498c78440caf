package kafkalag

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// resetAPI answers ResetOffsets with a fixed plan and records requests.
type resetAPI struct {
	stubAPI
	reqs []api.ResetOffsetsRequest
}

func (r *resetAPI) ResetOffsets(_ context.Context, req api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	r.reqs = append(r.reqs, req)
	return api.ResetOffsetsPlan{DAG: req.DAG, Sensor: req.Sensor, Group: "sluice." + req.DAG, DryRun: req.DryRun, Released: 2,
		Partitions: []api.OffsetChange{{Topic: "events", Partition: 0, Current: 1000, New: 400, Reread: 600, Carried: 600}}}, nil
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// O opens the reset form: a target that does not parse says why; enter
// previews the dry run (per partition committed → new, records read
// again); tab (allow reprocess) drops the preview; enter on a preview asks
// first (default No) and resets with what was previewed.
func TestResetOffsetsForm(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Sensors(), 100, 30)
	press(m, "O")
	if !m.Capturing() || !strings.Contains(m.View(), "reset offsets of demo/events#0") {
		t.Fatalf("O did not open the form:\n%s", m.View())
	}
	typeText(m, "yesterday")
	if cmd := press(m, "enter"); cmd != nil {
		t.Fatal("a target that does not parse asked the engine")
	}
	if !strings.Contains(m.View(), `"yesterday" is not earliest, latest`) {
		t.Fatalf("no error for a bad target:\n%s", m.View())
	}
	for range len("yesterday") {
		m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	typeText(m, "2h")
	msg, ok := runCmd(press(m, "enter")).(common.ActionRequestedMsg)
	if !ok || msg.Action.Load == nil || msg.Action.Prompt != "" {
		t.Fatalf("enter asked %+v, want a dry run without a prompt", msg)
	}
	fake := &resetAPI{}
	loaded, err := msg.Action.Load(context.Background(), fake)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.reqs) != 1 || !fake.reqs[0].DryRun || fake.reqs[0].To != api.ToTime || fake.reqs[0].DAG != "demo/events" ||
		!fake.reqs[0].Time.Equal(viewtest.Clock.Now().Add(-7200e9)) {
		t.Fatalf("dry run asked %+v", fake.reqs)
	}
	m.Update(loaded)
	view := m.View()
	for _, want := range []string{"Preview", "1000 →        400      600", "600 records to read again, 0 skipped; 600 already in runs are trimmed"} {
		if !strings.Contains(view, want) {
			t.Errorf("preview lacks %q:\n%s", want, view)
		}
	}

	m.Update(tea.KeyMsg{Type: tea.KeyTab}) // allow reprocess
	if strings.Contains(m.View(), "Preview") {
		t.Fatal("changing the form kept the old preview")
	}
	msg, _ = runCmd(press(m, "enter")).(common.ActionRequestedMsg)
	loaded, _ = msg.Action.Load(context.Background(), fake)
	m.Update(loaded)
	if !strings.Contains(m.View(), "[x] allow reprocess") || !strings.Contains(m.View(), "600 already in runs go into new runs") {
		t.Fatalf("reprocess preview:\n%s", m.View())
	}
	msg, ok = runCmd(press(m, "enter")).(common.ActionRequestedMsg)
	if !ok || msg.Action.Do == nil || !msg.Action.Destructive || !strings.Contains(msg.Action.Prompt, "Reset group sluice.demo/events to 2h?") {
		t.Fatalf("enter on a preview asked %+v", msg.Action)
	}
	text, err := msg.Action.Do(context.Background(), fake)
	last := fake.reqs[len(fake.reqs)-1]
	if err != nil || last.DryRun || !last.AllowReprocess || last.To != api.ToTime || !strings.Contains(text, "2 batches released") {
		t.Fatalf("reset: %q %v, asked %+v", text, err, last)
	}
	press(m, "esc")
	if m.Capturing() || m.mode != modeSensors {
		t.Fatal("esc did not close the form")
	}
}

func runCmd(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}
