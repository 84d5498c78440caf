package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/keys"
)

// Choosing inside an open deprecation: `[`/`]` pick a model, `space` takes
// it out of the branch (asking: only this time, or kept for good with a
// reason) or puts it back; `u` undoes the item's last take-out of this
// session. On an item whose models cannot change they say why at once.
// The engine re-stages the item, so the diff and counts follow.

// excludeKeys are the bindings of model picking.
type excludeKeys struct {
	next, prev, toggle, undo key.Binding
}

// newExcludeKeys copies the shared TakeOut and Undo bindings, so a key the
// console's role refuses (disabled before the panes are built) stays
// disabled here: hidden from the footer and the help, and refused at once.
func newExcludeKeys(k *keys.KeyMap) excludeKeys {
	undo := k.Undo
	undo.SetHelp(k.Undo.Help().Key, "undo take-out")
	return excludeKeys{
		next:   key.NewBinding(key.WithKeys("]"), key.WithHelp("]/[", "pick model")),
		prev:   key.NewBinding(key.WithKeys("[")),
		toggle: k.TakeOut,
		undo:   undo,
	}
}

// excludePrompt is the question `space` asks, answered in the pane.
type excludePrompt struct {
	id          int64
	model, name string
	typing      bool // writing the reason to keep it for good
	reason      []rune
}

// takenOut is one take-out of this session, for `u`.
type takenOut struct {
	id          int64
	model, name string
}

// choosable reports whether the item's models can be taken out now.
func choosable(it *api.Review) bool {
	return it != nil && (it.Kind == "deprecate" || it.Kind == "delete") &&
		(it.State == api.ReviewStaged || it.State == api.ReviewBlocked)
}

// pickedSubject is the model under the pick, clamped to the item's.
func (m *Model) pickedSubject(it *api.Review) *api.ReviewSubject {
	if it == nil || len(it.Subjects) == 0 {
		return nil
	}
	m.pick = min(max(m.pick, 0), len(it.Subjects)-1)
	return &it.Subjects[m.pick]
}

// excludeKey handles the picking keys of an open item; handled is false
// for the keys it does not own.
func (m *Model) excludeKey(msg tea.KeyMsg) (bool, tea.Cmd) {
	if m.prompt != nil {
		return true, m.promptKey(msg)
	}
	it := m.find(m.open)
	ek := m.ekeys
	switch {
	case key.Matches(msg, ek.next), key.Matches(msg, ek.prev):
		switch {
		case it == nil:
		case !choosable(it):
			return true, notChoosable(it)
		case len(it.Subjects) > 0:
			if key.Matches(msg, ek.next) {
				m.pick++
			} else {
				m.pick--
			}
			m.pickedSubject(it)
			m.refreshBody()
		}
		return true, nil
	case key.Matches(msg, ek.toggle):
		return true, m.toggle(it)
	case key.Matches(msg, ek.undo):
		return true, m.undoInItem(it)
	}
	return false, nil
}

// undoInItem is u in an open item: it undoes the item's rejection (u after
// x, in the item as in the list) or the item's last take-out, whichever
// its state allows.
func (m *Model) undoInItem(it *api.Review) tea.Cmd {
	switch {
	case it == nil:
		return nil
	case it.State == api.ReviewRejected:
		return m.undoRejectOf(it)
	case choosable(it):
		return m.undoTakeOut(it.ID)
	}
	return common.Toast(fmt.Sprintf("review #%d (%s, %s): nothing to undo", it.ID, it.Kind, it.State), true)
}

func (m *Model) toggle(it *api.Review) tea.Cmd {
	if it == nil {
		return nil
	}
	if !choosable(it) {
		return notChoosable(it)
	}
	sub := m.pickedSubject(it)
	if sub == nil {
		return nil
	}
	if sub.Excluded != "" {
		return m.exclude(it.ID, sub.ID, subjectName(*sub), api.Exclusion{Undo: true})
	}
	m.prompt = &excludePrompt{id: it.ID, model: sub.ID, name: subjectName(*sub)}
	return nil
}

func (m *Model) promptKey(msg tea.KeyMsg) tea.Cmd {
	p := m.prompt
	if msg.Type == tea.KeyEsc {
		m.prompt = nil
		return nil
	}
	if !p.typing {
		switch msg.String() {
		case "o":
			m.prompt = nil
			m.undo = append(m.undo, takenOut{p.id, p.model, p.name})
			return m.exclude(p.id, p.model, p.name, api.Exclusion{})
		case "k":
			p.typing = true
		}
		return nil
	}
	switch msg.Type {
	case tea.KeyEnter:
		reason := strings.TrimSpace(string(p.reason))
		if reason == "" {
			return common.Toast("say why "+p.name+" is kept: the reason stays with the keep rule", true)
		}
		m.prompt = nil
		m.undo = append(m.undo, takenOut{p.id, p.model, p.name})
		return m.exclude(p.id, p.model, p.name, api.Exclusion{Keep: true, Reason: reason})
	case tea.KeyBackspace:
		if len(p.reason) > 0 {
			p.reason = p.reason[:len(p.reason)-1]
		}
	case tea.KeySpace:
		p.reason = append(p.reason, ' ')
	case tea.KeyRunes:
		p.reason = append(p.reason, msg.Runes...)
	}
	return nil
}

// undoTakeOut puts back the last model this session took out of item id
// that is still out: u in one item never changes another.
func (m *Model) undoTakeOut(id int64) tea.Cmd {
	it := m.find(id)
	for i := len(m.undo) - 1; i >= 0; i-- {
		last := m.undo[i]
		if last.id != id {
			continue
		}
		m.undo = append(m.undo[:i], m.undo[i+1:]...)
		if it != nil && choosable(it) && isOut(it, last.model) {
			return m.exclude(last.id, last.model, last.name, api.Exclusion{Undo: true})
		}
	}
	return common.Toast(fmt.Sprintf("nothing to undo: no model taken out of review #%d in this session is still out", id), false)
}

func isOut(it *api.Review, model string) bool {
	for _, s := range it.Subjects {
		if s.ID == model && s.Excluded != "" {
			return true
		}
	}
	return false
}

// exclude asks the engine to take the model out (or put it back).
func (m *Model) exclude(id int64, model, name string, x api.Exclusion) tea.Cmd {
	verb, done := "taking "+name+" out of", name+" left out of review #%d this time · u undoes"
	switch {
	case x.Undo:
		verb, done = "putting "+name+" back into", name+" back in review #%d"
	case x.Keep:
		done = name + " kept for good and out of review #%d · u undoes"
	}
	return common.RequestAction(common.Action{
		Name: fmt.Sprintf("%s review #%d", verb, id),
		Do: func(ctx context.Context, a api.API) (string, error) {
			if err := a.ExcludeFromReview(ctx, id, model, x); err != nil {
				return "", err
			}
			return fmt.Sprintf(done, id), nil
		},
	})
}

// promptLine is the question in the open item's header line.
func (m *Model) promptLine() string {
	st := m.c.Styles
	p := m.prompt
	if p.typing {
		return st.Bold.Render("Keep "+p.name+" for good, because: ") + string(p.reason) + "▏" + st.Muted.Render("  enter keep · esc cancel")
	}
	return st.Bold.Render("Take "+p.name+" out of the branch: ") + "o only this time · k keep for good (with a reason)" + st.Muted.Render(" · esc cancel")
}
