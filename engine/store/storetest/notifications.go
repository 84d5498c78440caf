package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
)

func note(target, id, subject string, at time.Time) store.Notification {
	return store.Notification{Target: target, EventID: id, Type: "dag.invalid", Subject: subject,
		Payload: []byte(fmt.Sprintf(`{"id":%q}`, id)), CreatedAt: at}
}

func pendingIDs(t *testing.T, s store.Interface, target string) ([]string, []store.Notification) {
	t.Helper()
	ns, err := s.PendingNotifications(context.Background(), target, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range ns {
		ids = append(ids, n.EventID)
	}
	return ids, ns
}

func testNotificationOutbox(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1_700_000_000, 0)
	added, err := s.AddNotifications(ctx, []store.Notification{
		note("ops", "e1", "a", t0), note("ops", "e2", "b", t0), note("slack", "e1", "a", t0),
	})
	if err != nil || added != 3 {
		t.Fatalf("AddNotifications = %d, %v; want 3 new", added, err)
	}
	// The same event derived again (a restart, another instance) is not
	// stored twice; a new one beside it is.
	added, err = s.AddNotifications(ctx, []store.Notification{note("ops", "e1", "a", t0), note("ops", "e3", "a", t0)})
	if err != nil || added != 1 {
		t.Fatalf("adding e1 again and e3 = %d, %v; want 1 new", added, err)
	}
	ids, ns := pendingIDs(t, s, "ops")
	if fmt.Sprint(ids) != "[e1 e2 e3]" {
		t.Fatalf("pending of ops = %v, want [e1 e2 e3] in order", ids)
	}
	if string(ns[0].Payload) != `{"id":"e1"}` || ns[0].Subject != "a" || !ns[0].CreatedAt.Equal(t0) || ns[0].Type != "dag.invalid" {
		t.Fatalf("stored row = %+v", ns[0])
	}
	if err := s.NotificationFailed(ctx, []int64{ns[0].Seq, ns[1].Seq}, "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := s.NotificationFailed(ctx, []int64{ns[0].Seq}, "connection refused"); err != nil {
		t.Fatal(err)
	}
	st, err := s.NotificationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Target != "ops" || st[0].Pending != 3 || st[0].Attempts != 2 || st[0].LastError != "connection refused" || !st[0].LastSent.IsZero() {
		t.Fatalf("status = %+v, want ops with 3 pending, 2 attempts of the oldest, its error, nothing sent", st)
	}
	t1 := t0.Add(time.Minute)
	if err := s.MarkNotificationsSent(ctx, []int64{ns[0].Seq, ns[1].Seq}, t1); err != nil {
		t.Fatal(err)
	}
	if ids, _ := pendingIDs(t, s, "ops"); fmt.Sprint(ids) != "[e3]" {
		t.Fatalf("pending after sending e1, e2 = %v, want [e3]", ids)
	}
	if ids, _ := pendingIDs(t, s, "slack"); fmt.Sprint(ids) != "[e1]" {
		t.Fatalf("slack's pending = %v, want its own e1", ids)
	}
	// A sent id derived again is not sent again.
	if added, err := s.AddNotifications(ctx, []store.Notification{note("ops", "e1", "a", t1)}); err != nil || added != 0 {
		t.Fatalf("adding sent e1 again = %d, %v; want 0", added, err)
	}
	st, _ = s.NotificationStatus(ctx)
	if st[0].Pending != 1 || !st[0].LastSent.Equal(t1) || st[0].Attempts != 0 || st[0].LastError != "" {
		t.Fatalf("ops status after delivery = %+v", st[0])
	}
	if n, err := s.PruneNotifications(ctx, t1.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("PruneNotifications = %d, %v; want the 2 sent rows", n, err)
	}
	if ids, _ := pendingIDs(t, s, "ops"); fmt.Sprint(ids) != "[e3]" {
		t.Fatalf("pending after prune = %v, want [e3] kept", ids)
	}
	if err := s.MarkNotificationsSent(ctx, nil, t1); err != nil {
		t.Fatalf("marking nothing: %v", err)
	}
}

func testNotificationsSurviveReopen(t *testing.T, h harness) {
	ctx := context.Background()
	s, place := h.openPlace(t)
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.AddNotifications(ctx, []store.Notification{note("ops", "e1", "a", t0), note("ops", "e2", "a", t0)}); err != nil {
		t.Fatal(err)
	}
	_, ns := pendingIDs(t, s, "ops")
	if err := s.MarkNotificationsSent(ctx, []int64{ns[0].Seq}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := h.reopen(t, place)
	if ids, _ := pendingIDs(t, s2, "ops"); fmt.Sprint(ids) != "[e2]" {
		t.Fatalf("pending after reopening = %v, want [e2]", ids)
	}
}
