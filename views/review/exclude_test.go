package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest/poll"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// excludingEngine stands in for the engine: ExcludeFromReview marks the
// model out (or back in) of item 7 and drops its file from the diff's file
// list, as re-staging does, and records the call.
type excludingEngine struct {
	stubAPI
	calls []string
}

func (e *excludingEngine) ExcludeFromReview(_ context.Context, id int64, model string, x api.Exclusion) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	call := model
	if x.Keep {
		call += " keep:" + x.Reason
	}
	if x.Undo {
		call += " undo"
	}
	e.calls = append(e.calls, call)
	snap := *e.snap
	snap.Reviews = slices.Clone(snap.Reviews)
	for i := range snap.Reviews {
		it := &snap.Reviews[i]
		if it.ID != id {
			continue
		}
		it.Subjects = slices.Clone(it.Subjects)
		for j := range it.Subjects {
			s := &it.Subjects[j]
			if s.ID != model {
				continue
			}
			switch {
			case x.Undo:
				s.Excluded = ""
			case x.Keep:
				s.Excluded = "kept: " + x.Reason
			default:
				s.Excluded = "left out this time"
			}
		}
	}
	e.snap = &snap
	return nil
}

func (e *excludingEngine) Snapshot() *api.Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.snap
}

// host runs the pane as the root model would: actions run against the
// engine, then the new snapshot comes in.
type host struct {
	pane *Model
	eng  *excludingEngine
}

func (h host) Init() tea.Cmd { return nil }

func (h host) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ActionRequestedMsg:
		return h, func() tea.Msg {
			if _, err := msg.Action.Do(context.Background(), h.eng); err != nil {
				return common.ToastRequestedMsg{Text: err.Error(), Error: true}
			}
			return common.SnapshotUpdatedMsg{Snap: h.eng.Snapshot(), Topics: api.TopicReviews}
		}
	case common.ToastRequestedMsg:
		return h, nil
	case screenReq:
		msg <- h.pane.View()
		return h, nil
	}
	return h, h.pane.Update(msg)
}

func (h host) View() string { return h.pane.View() }

// screenReq asks the program for the pane's screen, answered in order after
// every message sent before it.
type screenReq chan string

// In an open deprecation: space on a model asks, o leaves it out this
// time, k keeps it for good with a typed reason, u undoes the last
// take-out; the header counts follow the engine's snapshot.
func TestPaneTakesModelsOut(t *testing.T) {
	t.Parallel()
	snap := viewtest.Reviews()
	eng := &excludingEngine{stubAPI: stubAPI{snap: snap}}
	m := newPane(t, snap, true, 100, 40)
	tm := teatest.NewTestModel(t, host{pane: m, eng: eng}, teatest.WithInitialTermSize(100, 40))
	send := func(keys ...string) {
		for _, k := range keys {
			switch k {
			case "enter":
				tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			case "space":
				tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			default:
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
			}
		}
	}
	screen := func() string {
		req := make(screenReq, 1)
		tm.Send(req)
		select {
		case s := <-req:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("the program did not answer a screen probe")
			return ""
		}
	}
	waitFor := func(what string) {
		t.Helper()
		var s string
		if !poll.Until(5*time.Second, func() bool {
			s = screen()
			return strings.Contains(s, what)
		}) {
			poll.TimedOut(t, 5*time.Second, fmt.Sprintf("%q; the pane shows:\n%s", what, s))
		}
	}

	send("enter") // item 7, a staged deprecation
	waitFor("Models (3)")
	send("]", "space")
	waitFor("Take legacy_customers out of the branch")
	send("o")
	waitFor("Models (2, 1 taken out)")
	waitFor("not in the branch: left out this time")

	send("]", "space", "k")
	waitFor("Keep stg_old_events for good, because:")
	send("f", "i", "n", "a", "n", "c", "e", "space", "r", "e", "a", "d", "s", "space", "i", "t", "enter")
	waitFor("not in the branch: kept: finance reads it")
	waitFor("Models (1, 2 taken out)")

	send("u") // undoes the keep, the last take-out
	waitFor("Models (2, 1 taken out)")

	tm.Send(tea.QuitMsg{})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	eng.mu.Lock()
	defer eng.mu.Unlock()
	want := []string{"model.shop.legacy_customers", "model.shop.stg_old_events keep:finance reads it", "model.shop.stg_old_events undo"}
	if !slices.Equal(eng.calls, want) {
		t.Errorf("engine calls %q, want %q", eng.calls, want)
	}
}

// Space on an item whose models cannot change says why, and asks nothing.
func TestPaneRefusesTakeOutOfSettledItem(t *testing.T) {
	t.Parallel()
	m := newPane(t, viewtest.Reviews(), true, 100, 40)
	press(m, "j", "enter") // item 6: exposures, pr-open
	cmd := m.Update(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
	if m.prompt != nil || cmd == nil {
		t.Fatalf("prompt %+v", m.prompt)
	}
	if msg, ok := cmd().(common.ToastRequestedMsg); !ok || !msg.Error || !strings.Contains(msg.Text, "only a staged deprecation's models") {
		t.Errorf("toast %+v", cmd())
	}
}
