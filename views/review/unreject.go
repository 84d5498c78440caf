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

// `u` in the list undoes the last rejection of this session: the engine
// stages the item again (api.UndoReject), restaging a branch the
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
	id, ok := m.rejected.pop(func(id int64) bool {
		it := m.find(id)
		return it != nil && it.State == api.ReviewRejected
	})
	if !ok {
		return common.Toast("nothing to undo: no review rejected in this session is still rejected", false)
	}
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
