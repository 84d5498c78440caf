package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/sluice-dev/sluice/engine/store"
)

// loop sends the target's outbox until ctx ends: the pending
// notifications it claims (those no other instance holds), grouped by
// subject, each group one message, in outbox order. A subject
// that sent less than a window ago waits for the window's end, folding
// what comes meanwhile. A failed attempt is retried after an exponential
// backoff; nothing behind it is sent before it, so a subject's events
// arrive in order.
func (sd *sender) loop(ctx context.Context) {
	s := sd.svc
	bo := &backoff.ExponentialBackOff{InitialInterval: s.cfg.RetryInitial, RandomizationFactor: 0.2,
		Multiplier: 2, MaxInterval: s.cfg.RetryMax}
	bo.Reset()
	for ctx.Err() == nil {
		claimedAt := s.clk.Now()
		pending, err := s.st.ClaimNotifications(ctx, sd.target.Name, s.cfg.Holder, claimedAt, claimedAt.Add(s.cfg.ClaimLease), batch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("reading the notification outbox", "target", sd.target.Name, "err", err)
			}
			sd.wait(ctx, bo.NextBackOff())
			continue
		}
		sd.setPending(len(pending))
		now := s.clk.Now()
		due, wake := sd.plan(pending, now)
		failed := false
		for _, g := range due {
			if err := sd.send(ctx, g); err != nil {
				if ctx.Err() != nil {
					return
				}
				sd.failed(ctx, g, err)
				failed = true
				break
			}
			bo.Reset()
		}
		switch {
		case failed:
			sd.wait(ctx, bo.NextBackOff())
		case len(due) > 0 && len(pending) == batch:
			// More may be waiting behind this batch.
		case len(due) > 0:
			// What was sent may have been joined by more meanwhile; the
			// next read says.
		case wake.IsZero():
			// Another instance may hold claims that run out (it died):
			// look again within half a lease.
			sd.wait(ctx, s.cfg.ClaimLease/2)
		default:
			// Held groups stay claimed: the claim is renewed before it
			// runs out.
			sd.wait(ctx, min(wake.Sub(now), s.cfg.ClaimLease/2))
		}
	}
}

// wait returns after d (never, when negative), on a poke, or when ctx ends.
func (sd *sender) wait(ctx context.Context, d time.Duration) {
	var timer <-chan time.Time
	if d >= 0 {
		timer = sd.svc.clk.After(d)
	}
	select {
	case <-ctx.Done():
	case <-sd.wake:
	case <-timer:
	}
}

// plan groups pending (in outbox order) by subject and returns the groups
// due now, in the order of their first notification, and when the next
// held group falls due (zero: none held).
func (sd *sender) plan(pending []store.Notification, now time.Time) (due [][]store.Notification, wake time.Time) {
	bySubject := map[string]int{}
	var groups [][]store.Notification
	for _, n := range pending {
		i, ok := bySubject[n.Subject]
		if !ok {
			i = len(groups)
			bySubject[n.Subject] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], n)
	}
	for _, g := range groups {
		last, ok := sd.lastSent[g[0].Subject]
		if at := last.Add(sd.svc.cfg.Window); ok && now.Before(at) {
			if wake.IsZero() || at.Before(wake) {
				wake = at
			}
			continue
		}
		due = append(due, g)
	}
	return due, wake
}

// send delivers one group as one message and marks it sent.
func (sd *sender) send(ctx context.Context, g []store.Notification) error {
	s := sd.svc
	evs := make([]Event, 0, len(g))
	for _, n := range g {
		var ev Event
		if err := json.Unmarshal(n.Payload, &ev); err != nil {
			// A row this version cannot read: keep its stored facts.
			ev = Event{ID: n.EventID, Type: n.Type, Subject: n.Subject, At: n.CreatedAt, Text: n.Type + " " + n.Subject}
		}
		evs = append(evs, ev)
	}
	m := group(evs)
	b, err := body(sd.target.Kind, m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sd.target.URL, bytes.NewReader(b))
	if err != nil {
		return redactURL(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sluice")
	if sd.target.Kind != KindSlack {
		req.Header.Set("X-Sluice-Event", m.Type)
		req.Header.Set("X-Sluice-Id", m.ID)
		if s.cfg.Secret != "" {
			req.Header.Set(SignatureHeader, Sign([]byte(s.cfg.Secret), b))
		}
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return redactURL(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errStatus{resp.StatusCode}
	}
	seqs := make([]int64, len(g))
	for i, n := range g {
		seqs[i] = n.Seq
	}
	now := s.clk.Now()
	// Marked with ctx's end ignored: the receiver has it, and a send
	// repeated after a restart would be a duplicate.
	if err := s.st.MarkNotificationsSent(context.WithoutCancel(ctx), seqs, now); err != nil {
		s.log.Error("marking notifications sent", "target", sd.target.Name, "err", err)
	}
	sd.lastSent[m.Subject] = now
	sd.mu.Lock()
	sd.st.LastDelivery, sd.st.Failures, sd.st.Failing, sd.st.LastError = now, 0, false, ""
	sd.st.Pending = max(0, sd.st.Pending-len(g))
	sd.mu.Unlock()
	s.log.Debug("notification sent", "target", sd.target.Name, "type", m.Type, "subject", m.Subject, "folded", m.Folded)
	return nil
}

// failed records a failed attempt, in the store and the status.
func (sd *sender) failed(ctx context.Context, g []store.Notification, err error) {
	s := sd.svc
	seqs := make([]int64, len(g))
	for i, n := range g {
		seqs[i] = n.Seq
	}
	if err := s.st.NotificationFailed(ctx, seqs, err.Error()); err != nil && ctx.Err() == nil {
		s.log.Error("recording a failed notification", "target", sd.target.Name, "err", err)
	}
	sd.mu.Lock()
	sd.st.Failures++
	sd.st.LastError = err.Error()
	becameFailing := !sd.st.Failing && sd.st.Failures >= s.cfg.FailingAfter
	sd.st.Failing = sd.st.Failures >= s.cfg.FailingAfter
	sd.mu.Unlock()
	level := s.log.Debug
	if becameFailing {
		level = s.log.Warn
	}
	level("notification not delivered", "target", sd.target.Name, "err", err)
}

func (sd *sender) setPending(n int) {
	sd.mu.Lock()
	sd.st.Pending = n
	sd.mu.Unlock()
}

// addPending counts n notifications just stored for the target, so its
// status stays true while the loop is busy (a send hanging): the next
// claim sets the exact figure.
func (sd *sender) addPending(n int) {
	sd.mu.Lock()
	sd.st.Pending += n
	sd.mu.Unlock()
}

// redactURL drops the URL from a client error: a webhook URL's path is
// its secret.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
