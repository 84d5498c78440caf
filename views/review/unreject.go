package review

import (
	"context"
	"fmt"
	"sync"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/common"
	"github.com/sluice-dev/sluice/views/keys"
)

// `u` in the list undoes the last rejection of this session, in an open
// item that item's rejection (made in this session): the engine stages
// the item again (api.UndoReject), restaging a branch the
// rejection deleted.

// rejectLog is the items this session rejected, oldest first. The reject
// runs in the root model's command, which sends no result back to the
// pane; it records its success here, hence the lock.
type rejectLog struct {
	mu  sync.Mutex
	ids []int64
}

func (l *rejectLog) push(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids = append(l.ids, id)
}

// pop removes and returns the newest id for which keep is true, dropping
// newer ones that no longer qualify.
func (l *rejectLog) pop(keep func(int64) bool) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.ids) > 0 {
		id := l.ids[len(l.ids)-1]
		l.ids = l.ids[:len(l.ids)-1]
		if keep(id) {
			return id, true
		}
	}
	return 0, false
}

// last returns the newest id for which keep is true, removing nothing.
func (l *rejectLog) last(keep func(int64) bool) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.ids) - 1; i >= 0; i-- {
		if keep(l.ids[i]) {
			return l.ids[i], true
		}
	}
	return 0, false
}

func (l *rejectLog) has(id int64) bool {
	_, ok := l.last(func(x int64) bool { return x == id })
	return ok
}

// take removes the newest entry of id, reporting whether there was one.
func (l *rejectLog) take(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.ids) - 1; i >= 0; i-- {
		if l.ids[i] == id {
			l.ids = append(l.ids[:i], l.ids[i+1:]...)
			return true
		}
	}
	return false
}

// unrejectKey copies the shared Undo binding (disabled for a role that
// may not use it) with the list's help text.
func unrejectKey(k *keys.KeyMap) key.Binding {
	b := k.Undo
	b.SetHelp(k.Undo.Help().Key, "undo reject")
	return b
}

// undoReject asks the engine to put back the last item this session
// rejected that is still rejected (not since withdrawn or restored).
func (m *Model) undoReject() tea.Cmd {
	id, ok := m.rejected.pop(m.stillRejected)
	if !ok {
		return common.Toast("nothing to undo: no review rejected in this session is still rejected", false)
	}
	return unrejectCmd(id)
}

// undoRejectOf undoes the rejection of the open item, one this session
// made: u there means this item, not the session's last rejection.
func (m *Model) undoRejectOf(it *api.Review) tea.Cmd {
	if !m.rejected.take(it.ID) {
		return common.Toast(fmt.Sprintf("review #%d was not rejected in this session: u undoes only this session's rejections · sluice review unreject %d puts it back", it.ID, it.ID), true)
	}
	return unrejectCmd(it.ID)
}

func unrejectCmd(id int64) tea.Cmd {
	return common.RequestAction(common.Action{
		Name: fmt.Sprintf("undoing the rejection of review #%d", id),
		Do: func(ctx context.Context, a api.API) (string, error) {
			if err := a.UndoReject(ctx, id); err != nil {
				return "", err // it names the review (api.API)
			}
			return fmt.Sprintf("review #%d staged again", id), nil
		},
	})
}
