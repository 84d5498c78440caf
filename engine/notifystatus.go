package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/notify"
	"github.com/sluice-dev/sluice/engine/store"
)

// NotificationStatus sums up each notification target's outbox from the
// store (pending, last delivery, the oldest pending message's attempts
// and error): what `sluice status` shows beside a running engine. A state
// dir without a store has none.
func (e *Engine) NotificationStatus(ctx context.Context) ([]store.NotificationTarget, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return st.NotificationStatus(ctx)
}

// notificationStatus fills status' notifications section: the configured
// targets (URLs redacted) with the running engine's delivery state, or,
// offline, with the store's outbox summed up — which every instance on a
// shared store writes to. A target only the outbox knows (removed from the
// configuration with messages left) is listed, never as failing: nothing
// sends its messages any more.
func (e *Engine) notificationStatus(ctx context.Context, s *api.Status) {
	n := &api.StatusNotifications{Available: true, Targets: []api.StatusNotifyTarget{}}
	s.Notifications = n
	byName := map[string]int{}
	for _, t := range e.cfg.Notify.Targets {
		byName[t.Name] = len(n.Targets)
		n.Targets = append(n.Targets, api.StatusNotifyTarget{Name: t.Name, Kind: t.Kind, URL: t.RedactedURL(), Configured: true})
	}
	if e.off == nil {
		if e.notify == nil {
			return
		}
		for _, d := range e.notify.Status() {
			t := &n.Targets[byName[d.Name]]
			t.LastDelivery, t.Pending, t.Failures, t.Failing, t.Error = d.LastDelivery, d.Pending, d.Failures, d.Failing, text.Line(d.LastError)
		}
		return
	}
	if !s.Store.Exists {
		return
	}
	st, err := e.openStore(ctx, false)
	if err != nil {
		return // the store section says why
	}
	outbox, err := st.NotificationStatus(ctx)
	if err != nil {
		s.Store.Error = err.Error()
		return
	}
	failingAfter := e.cfg.Notify.FailingAfter
	if failingAfter <= 0 {
		failingAfter = notify.DefaultFailingAfter
	}
	for _, o := range outbox {
		i, ok := byName[o.Target]
		if !ok {
			i = len(n.Targets)
			n.Targets = append(n.Targets, api.StatusNotifyTarget{Name: text.Line(o.Target)})
		}
		t := &n.Targets[i]
		t.LastDelivery, t.Pending, t.Failures, t.Error = o.LastSent, o.Pending, o.Attempts, text.Line(o.LastError)
		t.Failing = t.Configured && o.Attempts >= failingAfter
	}
}

// notificationProblems are the failing targets, with why.
func notificationProblems(n *api.StatusNotifications) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, t := range n.Targets {
		if t.Failing {
			out = append(out, fmt.Sprintf("notification target %s (%s) failing: %d failed attempts, %d pending, last error: %s",
				t.Name, t.URL, t.Failures, t.Pending, t.Error))
		}
	}
	return out
}
