package kafkalag

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// resetForm resets a sensor's consumer group in two steps: the target
// typed and dry-run (the preview: per partition the offset's move and the
// records read again), then the reset itself, confirmed.
type resetForm struct {
	sensor sensorKey
	back   mode // where esc returns
	input  textinput.Model
	// reprocess releases what runs carry (--allow-reprocess).
	reprocess bool
	// plan is the dry run of req; nil until one answers for the form as
	// it stands.
	req  api.ResetOffsetsRequest
	plan *api.ResetOffsetsPlan
	err  string
}

// offsetsPlannedMsg is a dry run's plan for the form.
type offsetsPlannedMsg struct {
	req  api.ResetOffsetsRequest
	plan api.ResetOffsetsPlan
}

// openReset opens the reset form of the sensor keys act on.
func (m *Model) openReset() tea.Cmd {
	s := m.current()
	if s == nil {
		return common.Toast("select a sensor to reset its offsets", true)
	}
	in := textinput.New()
	in.Prompt = "to: "
	in.Placeholder = "earliest, latest, 2024-05-01T09:00:00Z, 2h (ago) or 0:1200,1:980"
	in.Focus()
	m.reset = &resetForm{sensor: keyOf(s), back: m.mode, input: in}
	m.mode = modeReset
	return textinput.Blink
}

// resetKey is a key in the reset form: it takes every key (Capturing).
func (m *Model) resetKey(msg tea.KeyMsg) tea.Cmd {
	f, k := m.reset, m.c.Keys
	switch {
	case key.Matches(msg, k.Back):
		m.mode, m.reset = f.back, nil
		return nil
	case msg.Type == tea.KeyTab:
		f.reprocess, f.plan = !f.reprocess, nil
		return nil
	case key.Matches(msg, k.Enter):
		if f.plan != nil {
			return m.confirmReset()
		}
		req := api.ResetOffsetsRequest{DAG: f.sensor.dag, Sensor: f.sensor.index, DryRun: true, AllowReprocess: f.reprocess}
		if err := api.ParseOffsetTarget(f.input.Value(), m.c.Clock.Now(), &req); err != nil {
			f.err = err.Error()
			return nil
		}
		f.err = ""
		return common.RequestAction(common.Action{
			Name: "planning the offset reset of " + f.sensor.String(),
			Load: func(ctx context.Context, a api.API) (tea.Msg, error) {
				plan, err := a.ResetOffsets(ctx, req)
				if err != nil {
					return nil, err
				}
				return offsetsPlannedMsg{req: req, plan: plan}, nil
			},
		})
	}
	before := f.input.Value()
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	if f.input.Value() != before {
		f.plan = nil
	}
	return cmd
}

// planned shows a dry run's plan, if it answers the form as it stands.
func (m *Model) planned(msg offsetsPlannedMsg) {
	f := m.reset
	if f == nil || msg.req.DAG != f.sensor.dag || msg.req.Sensor != f.sensor.index || msg.req.AllowReprocess != f.reprocess {
		return
	}
	f.req, f.plan = msg.req, &msg.plan
	f.req.DryRun = false
}

// confirmReset asks before moving the group as previewed (default No).
func (m *Model) confirmReset() tea.Cmd {
	f := m.reset
	req := f.req
	reread, skipped, carried := f.plan.Totals()
	prompt := fmt.Sprintf("Reset group %s to %s? %d records to read again, %d skipped", f.plan.Group, strings.TrimSpace(f.input.Value()), reread, skipped)
	if carried > 0 && req.AllowReprocess {
		prompt += fmt.Sprintf("; %d already in runs go into new runs.", carried)
	} else if carried > 0 {
		prompt += fmt.Sprintf("; %d already in runs are trimmed.", carried)
	}
	return common.RequestAction(common.Action{
		Name:        "resetting the offsets of " + f.sensor.String(),
		Prompt:      prompt,
		Destructive: true,
		Do: func(ctx context.Context, a api.API) (string, error) {
			plan, err := a.ResetOffsets(ctx, req)
			if err != nil {
				return "", err // the engine's error names the sensor
			}
			return fmt.Sprintf("group %s reset; %d batches released: resume the sensor (p) to read again", plan.Group, plan.Released), nil
		},
	})
}

func (m *Model) resetView() string {
	st, f := m.c.Styles, m.reset
	var b strings.Builder
	b.WriteString(st.Bold.Render("reset offsets of "+f.sensor.String()) + "\n")
	if s := m.find(f.sensor); s != nil {
		fmt.Fprintf(&b, "%s %s\n", st.Label.Render("group    "), orDash(s.Group))
		if !isPaused(s) {
			b.WriteString(st.Warn.Render("the sensor runs: pause it (p) before the reset; the preview works meanwhile") + "\n")
		}
	}
	b.WriteString(f.input.View() + "\n")
	box := "[ ]"
	if f.reprocess {
		box = "[x]"
	}
	b.WriteString(box + " allow reprocess: records runs already carry go into new runs (tab)\n")
	if f.err != "" {
		b.WriteString(st.Error.Render(f.err) + "\n")
	}
	if f.plan == nil {
		b.WriteString("\n" + st.Muted.Render("enter: preview · esc: back") + "\n")
		return common.Lines(b.String(), m.width, m.height)
	}
	b.WriteString("\n" + st.Section.Render("Preview") + st.Muted.Render(" · per partition, committed → new") + "\n")
	b.WriteString(st.Muted.Render(fmt.Sprintf("  %-16s %4s %10s   %10s %8s %8s %8s", "TOPIC", "PART", "CURRENT", "NEW", "RE-READ", "SKIPPED", "IN RUNS")) + "\n")
	for _, c := range f.plan.Partitions {
		cur := fmt.Sprint(c.Current)
		if c.Current < 0 {
			cur = "none"
		}
		fmt.Fprintf(&b, "  %-16s %4d %10s → %10d %8d %8d %8d\n", common.Truncate(c.Topic, 16), c.Partition, cur, c.New, c.Reread, c.Skipped, c.Carried)
	}
	reread, skipped, carried := f.plan.Totals()
	fmt.Fprintf(&b, "%d records to read again, %d skipped", reread, skipped)
	switch {
	case carried > 0 && f.reprocess:
		fmt.Fprintf(&b, "; %d already in runs go into new runs", carried)
	case carried > 0:
		fmt.Fprintf(&b, "; %d already in runs are trimmed, not run again", carried)
	}
	b.WriteString("\n\n" + st.Muted.Render("enter: reset (asks first) · esc: back") + "\n")
	return common.Lines(b.String(), m.width, m.height)
}
