package dagtree

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// BackfillPreviewedMsg is the dry run of the backfill form's request:
// the fire times it would run and those it would skip, or why not.
type BackfillPreviewedMsg struct {
	Req  api.BackfillRequest
	Plan api.BackfillPlan
	Err  error
}

// BackfillFormClosedMsg closes the backfill form of DAG once the backfill
// was queued.
type BackfillFormClosedMsg struct{ DAG string }

// The backfill form's fields, in tab order.
const (
	fieldFrom = iota
	fieldTo
	fieldMaxActive
	fieldReprocess
	fieldCount
)

var fieldLabels = [fieldCount]string{"from", "to", "max active", "reprocess"}

// reprocessChoices are what the reprocess field cycles through, with what
// each skips.
var reprocessChoices = []struct{ value, says string }{
	{api.ReprocessFailed, "skip fire times that already succeeded"},
	{api.ReprocessNone, "skip fire times that have any run"},
	{api.ReprocessAll, "run every fire time again"},
}

// backfillForm is B on a scheduled DAG: the range, the bound on runs at
// once and what to run again; enter previews (a dry run), ctrl+s queues
// what the preview showed.
type backfillForm struct {
	dag      string
	schedule string
	inputs   [fieldMaxActive + 1]textinput.Model
	// reprocess is the position in reprocessChoices.
	reprocess int
	focus     int
	err       string
	// asked is the request whose preview is awaited; preview is the
	// answer for it, nil until it comes and once a field changes.
	asked   *api.BackfillRequest
	preview *BackfillPreviewedMsg
}

func (m *Model) openBackfillForm(d *api.DAG) tea.Cmd {
	if d.Def == nil || d.Def.Schedule == "" {
		return common.Toast(d.Name+" has no schedule: nothing to backfill (t triggers a run)", true)
	}
	f := &backfillForm{dag: d.Name, schedule: d.Def.Schedule}
	placeholders := [...]string{"48h or 2024-05-01T00:00:00Z", "now", "no bound"}
	for i := range f.inputs {
		in := textinput.New()
		in.Prompt = "> "
		in.Placeholder = placeholders[i]
		in.CharLimit = 64
		in.Cursor.SetMode(cursor.CursorStatic)
		f.inputs[i] = in
	}
	f.inputs[fieldFrom].SetValue("48h")
	f.inputs[fieldFrom].Focus()
	m.backfillForm = f
	return nil
}

// request reads the form into a dry-run request, times resolved now.
func (f *backfillForm) request(now time.Time) (api.BackfillRequest, error) {
	req := api.BackfillRequest{DAG: f.dag, DryRun: true, Reprocess: reprocessChoices[f.reprocess].value}
	var err error
	from := strings.TrimSpace(f.inputs[fieldFrom].Value())
	if from == "" {
		return req, fmt.Errorf("from: give a time (RFC 3339) or a duration ago (48h)")
	}
	if req.From, err = api.ParseSince(from, now); err != nil {
		return req, fmt.Errorf("from: %w", err)
	}
	req.To = now
	if to := strings.TrimSpace(f.inputs[fieldTo].Value()); to != "" && to != "now" {
		if req.To, err = api.ParseSince(to, now); err != nil {
			return req, fmt.Errorf("to: %w", err)
		}
	}
	if !req.From.Before(req.To) {
		return req, fmt.Errorf("from (%s) is not before to (%s)", stamp(req.From), stamp(req.To))
	}
	if s := strings.TrimSpace(f.inputs[fieldMaxActive].Value()); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return req, fmt.Errorf("max active: %q is not a number of runs (empty: no bound)", s)
		}
		req.MaxActive = n
	}
	return req, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func (m *Model) backfillFormKey(msg tea.KeyMsg) tea.Cmd {
	k, f := m.c.Keys, m.backfillForm
	switch {
	case key.Matches(msg, k.Back):
		m.backfillForm = nil
		return nil
	case msg.Type == tea.KeyTab || msg.Type == tea.KeyDown:
		f.setFocus((f.focus + 1) % fieldCount)
		return nil
	case msg.Type == tea.KeyShiftTab || msg.Type == tea.KeyUp:
		f.setFocus((f.focus + fieldCount - 1) % fieldCount)
		return nil
	case msg.Type == tea.KeyEnter:
		return m.previewBackfill()
	case key.Matches(msg, k.Submit):
		if f.preview == nil || f.preview.Err != nil {
			return m.previewBackfill()
		}
		return queueBackfill(f.preview)
	}
	if f.focus == fieldReprocess {
		switch msg.Type {
		case tea.KeyLeft:
			f.reprocess = (f.reprocess + len(reprocessChoices) - 1) % len(reprocessChoices)
		case tea.KeyRight, tea.KeySpace:
			f.reprocess = (f.reprocess + 1) % len(reprocessChoices)
		default:
			return nil
		}
		f.changed()
		return nil
	}
	before := f.inputs[f.focus].Value()
	var cmd tea.Cmd
	f.inputs[f.focus], cmd = f.inputs[f.focus].Update(msg)
	if f.inputs[f.focus].Value() != before {
		f.changed()
	}
	return cmd
}

func (f *backfillForm) setFocus(i int) {
	if f.focus < len(f.inputs) {
		f.inputs[f.focus].Blur()
	}
	f.focus = i
	if i < len(f.inputs) {
		f.inputs[i].Focus()
	}
}

// changed drops a preview that no longer says what the form asks.
func (f *backfillForm) changed() {
	f.preview, f.asked, f.err = nil, nil, ""
}

func (m *Model) previewBackfill() tea.Cmd {
	f := m.backfillForm
	req, err := f.request(m.c.Clock.Now())
	if err != nil {
		f.err, f.preview, f.asked = err.Error(), nil, nil
		return nil
	}
	f.err, f.preview, f.asked = "", nil, &req
	return common.RequestAction(common.Action{
		Name: "previewing a backfill of " + req.DAG,
		Load: func(ctx context.Context, a api.API) (tea.Msg, error) {
			plan, err := a.Backfill(ctx, req)
			// The form shows the error where the preview goes.
			return BackfillPreviewedMsg{Req: req, Plan: plan, Err: err}, nil
		},
	})
}

func (m *Model) backfillPreviewed(msg BackfillPreviewedMsg) {
	f := m.backfillForm
	if f == nil || f.asked == nil || !sameRequest(*f.asked, msg.Req) {
		return // a form closed or changed since it asked
	}
	f.preview = &msg
}

func sameRequest(a, b api.BackfillRequest) bool {
	return a.DAG == b.DAG && a.From.Equal(b.From) && a.To.Equal(b.To) && a.MaxActive == b.MaxActive && a.Reprocess == b.Reprocess
}

// queueBackfill asks, then queues the backfill the preview showed: the
// same range, resolved when previewed.
func queueBackfill(p *BackfillPreviewedMsg) tea.Cmd {
	req := p.Req
	req.DryRun = false
	name := req.DAG
	if len(p.Plan.Fires) == 0 {
		return common.Toast("the preview has no fire time to run: nothing to queue", true)
	}
	return common.RequestAction(common.Action{
		Name: "backfilling " + name,
		Prompt: fmt.Sprintf("Queue a backfill of %s: %s from %s to %s (%d skipped)?", name,
			common.Plural(len(p.Plan.Fires), "run"), stamp(req.From), stamp(req.To), len(p.Plan.Skipped)),
		Done: BackfillFormClosedMsg{DAG: name},
		Do: func(ctx context.Context, a api.API) (string, error) {
			plan, err := a.Backfill(ctx, req)
			if err != nil {
				return "", fmt.Errorf("backfilling %s: %w", name, err)
			}
			return fmt.Sprintf("queued backfill #%d of %s: %s", plan.Backfill.ID, name, common.Plural(len(plan.Fires), "run")), nil
		},
	})
}

func (m *Model) backfillFormView() string {
	st := m.c.Styles
	f := m.backfillForm
	lines := []string{st.Bold.Render("Backfill "+f.dag) + "  " + st.Muted.Render("schedule "+f.schedule), ""}
	hints := [...]string{"RFC 3339, or a duration ago (48h)", "empty: now", "runs queued or running at once"}
	// The focused field is marked in text, not only by the cursor: a
	// NO_COLOR terminal shows which field the keys go to.
	label := func(i int) string {
		if i == f.focus {
			return st.Accent.Render(fmt.Sprintf("› %-11s", fieldLabels[i]))
		}
		return fmt.Sprintf("  %-11s", fieldLabels[i])
	}
	for i := range f.inputs {
		in := &f.inputs[i]
		in.Width = 22
		lines = append(lines, label(i)+common.PadRight(in.View(), 26)+st.Muted.Render(hints[i]))
	}
	choice := reprocessChoices[f.reprocess]
	value := "  " + choice.value + "  "
	if f.focus == fieldReprocess {
		value = st.ButtonActive.Render("‹ " + choice.value + " ›")
	}
	lines = append(lines, label(fieldReprocess)+common.PadRight(value, 26)+st.Muted.Render(choice.says), "")
	switch {
	case f.err != "":
		lines = append(lines, st.Error.Render("✗ "+f.err))
	case f.preview != nil && f.preview.Err != nil:
		lines = append(lines, st.Error.Render("✗ "+f.preview.Err.Error()))
	case f.preview != nil:
		lines = append(lines, m.previewLines(f.preview)...)
	case f.asked != nil:
		lines = append(lines, st.Muted.Render("previewing…"))
	default:
		lines = append(lines, st.Muted.Render("enter previews the fire times; ctrl+s queues what the preview shows"))
	}
	for i, l := range lines {
		lines[i] = common.Truncate(l, m.Width)
	}
	return common.Lines(strings.Join(lines, "\n"), m.Width, m.Height)
}

// previewLines say how many runs the backfill queues and skips, with the
// first and last fire time and the first skips' reasons.
func (m *Model) previewLines(p *BackfillPreviewedMsg) []string {
	st := m.c.Styles
	fires, skipped := p.Plan.Fires, p.Plan.Skipped
	out := []string{st.Bold.Render(fmt.Sprintf("%s to run", common.Plural(len(fires), "fire time"))) +
		st.Muted.Render(fmt.Sprintf(" · %d skipped", len(skipped)))}
	if len(fires) > 0 {
		out = append(out, st.Muted.Render(fmt.Sprintf("  first %s · last %s", stamp(fires[0]), stamp(fires[len(fires)-1]))))
	}
	const shownSkips = 3
	for i, s := range skipped {
		if i == shownSkips {
			out = append(out, st.Muted.Render(fmt.Sprintf("  … %d more skipped", len(skipped)-shownSkips)))
			break
		}
		out = append(out, st.Muted.Render(fmt.Sprintf("  skip %s  %s", stamp(s.At), common.OneLine(s.Reason))))
	}
	if len(fires) > 0 {
		out = append(out, "", st.Info.Render("ctrl+s queues "+common.Plural(len(fires), "run")))
	}
	return out
}

func (m *Model) backfillFormHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "preview")),
		key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "queue")),
		formCancel,
	}
}
