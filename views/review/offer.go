package review

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
)

// What the footer and the help offer beyond approve and reject
// (actionKeys): the picking keys and u by the item's kind and state, m
// only where a metapipeline is configured. Keys the state does not allow
// are refused at once with the reason, not sent to an engine that refuses
// them.

// offer is b where allowed. A binding the console's role disabled stays
// listed whatever the state: the footer and the help skip it, and the root
// finds it there to refuse the key with the role's reason.
func offer(b key.Binding, allowed bool) []key.Binding {
	if allowed || !b.Enabled() {
		return []key.Binding{b}
	}
	return nil
}

// metaKeys is m where the metapipeline can run.
func (m *Model) metaKeys() []key.Binding {
	return offer(m.c.Keys.Meta, m.snap != nil && m.snap.MetaEnabled)
}

// metaHowTo says how to make the metapipeline available.
const metaHowTo = "start sluice with --manifest PATH (or DBT_MANIFEST=PATH), the dbt project's target/manifest.json"

// runMetaKey is m: the metapipeline, or at once why there is none.
func (m *Model) runMetaKey() tea.Cmd {
	if m.snap == nil || !m.snap.MetaEnabled {
		return common.Toast("the metapipeline is not configured: "+metaHowTo, true)
	}
	return runMeta()
}

// noItem is the toast for approve or reject with no item selected.
func (m *Model) noItem() tea.Cmd {
	text := "no review item selected"
	if m.snap != nil && m.snap.MetaEnabled {
		text += " · m runs the metapipeline"
	}
	return common.Toast(text, true)
}

// itemKeys are the open item's keys beyond approve and reject: a staged
// deprecation's models are picked, taken out and put back (u undoing a
// take-out); an item this session rejected offers u to undo that.
func (m *Model) itemKeys(it *api.Review) []key.Binding {
	ek, pick := m.ekeys, choosable(it)
	out := append(offer(ek.next, pick), offer(ek.toggle, pick)...)
	if m.rejectedHere(it) {
		return append(out, m.unreject)
	}
	return append(out, offer(ek.undo, pick)...)
}

// listUndo is u in the list, where this session rejected an item that is
// still rejected.
func (m *Model) listUndo() []key.Binding {
	_, ok := m.rejected.last(m.stillRejected)
	return offer(m.unreject, ok)
}

func (m *Model) stillRejected(id int64) bool {
	it := m.find(id)
	return it != nil && it.State == api.ReviewRejected
}

// rejectedHere reports whether this session rejected the item, which is
// still rejected.
func (m *Model) rejectedHere(it *api.Review) bool {
	return it != nil && it.State == api.ReviewRejected && m.rejected.has(it.ID)
}

// notChoosable is why an item's models cannot be picked or taken out.
func notChoosable(it *api.Review) tea.Cmd {
	return common.Toast(fmt.Sprintf("review #%d (%s, %s): only a staged deprecation's models can be taken out", it.ID, it.Kind, it.State), true)
}
