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

func claimedIDs(t *testing.T, s store.Interface, target, holder string, now time.Time, lease time.Duration) []string {
	t.Helper()
	ns, err := s.ClaimNotifications(context.Background(), target, holder, now, now.Add(lease), 100)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, n := range ns {
		ids = append(ids, n.EventID)
	}
	return ids
}

// testNotificationClaims: two holders share one target's outbox: a
// subject goes to one holder at a time, in order; a claim renews; an
// expired one is taken over; a released one is free at once.
func testNotificationClaims(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.AddNotifications(ctx, []store.Notification{
		note("ops", "a1", "a", t0), note("ops", "b1", "b", t0), note("ops", "a2", "a", t0), note("slack", "a1", "a", t0),
	}); err != nil {
		t.Fatal(err)
	}
	const lease = time.Minute
	if got := claimedIDs(t, s, "ops", "one", t0, lease); fmt.Sprint(got) != "[a1 b1 a2]" {
		t.Fatalf("first claim = %v, want every pending row of ops in order", got)
	}
	// Subject a gains a row while "one" holds it: "two" gets none of a.
	if _, err := s.AddNotifications(ctx, []store.Notification{note("ops", "a3", "a", t0), note("ops", "c1", "c", t0)}); err != nil {
		t.Fatal(err)
	}
	if got := claimedIDs(t, s, "ops", "two", t0.Add(time.Second), lease); fmt.Sprint(got) != "[c1]" {
		t.Fatalf("second holder's claim = %v, want only the subject nobody holds, [c1]", got)
	}
	// The other target's outbox is its own.
	if got := claimedIDs(t, s, "slack", "two", t0, lease); fmt.Sprint(got) != "[a1]" {
		t.Fatalf("slack claim = %v, want [a1]", got)
	}
	// "one" renews its claim and gets a's new row behind the others.
	if got := claimedIDs(t, s, "ops", "one", t0.Add(2*time.Second), lease); fmt.Sprint(got) != "[a1 b1 a2 a3]" {
		t.Fatalf("renewed claim = %v, want [a1 b1 a2 a3]", got)
	}
	ns, err := s.PendingNotifications(ctx, "ops", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkNotificationsSent(ctx, []int64{ns[0].Seq}, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	// "one" dies: until its lease ends "two" gets nothing of a or b; then
	// it takes them over, the sent row excepted.
	if got := claimedIDs(t, s, "ops", "two", t0.Add(lease), lease); fmt.Sprint(got) != "[c1]" {
		t.Fatalf("claim before the lease ends = %v, want [c1]", got)
	}
	late := t0.Add(2*time.Second + lease + time.Millisecond)
	if got := claimedIDs(t, s, "ops", "two", late, lease); fmt.Sprint(got) != "[b1 a2 a3 c1]" {
		t.Fatalf("claim after the lease ended = %v, want [b1 a2 a3 c1]", got)
	}
	if got := claimedIDs(t, s, "ops", "one", late, lease); fmt.Sprint(got) != "[]" {
		t.Fatalf("the dead holder back = %v, want nothing", got)
	}
	if err := s.ReleaseNotifications(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if got := claimedIDs(t, s, "ops", "one", late, lease); fmt.Sprint(got) != "[b1 a2 a3 c1]" {
		t.Fatalf("claim after a release = %v, want [b1 a2 a3 c1]", got)
	}
}

// testNotifyStates: a state is announced by the first to set it; setting
// it again is no change; a new state is the next generation.
func testNotifyStates(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	gens, err := s.RecordNotifyStates(ctx, []store.NotifyState{{Subject: "dag/etl", State: "active"}, {Subject: "dag/load", State: "invalid"}})
	if err != nil || fmt.Sprint(gens) != "[1 1]" {
		t.Fatalf("first states = %v, %v; want [1 1]", gens, err)
	}
	gens, err = s.RecordNotifyStates(ctx, []store.NotifyState{{Subject: "dag/load", State: "invalid"}, {Subject: "dag/etl", State: "invalid"}})
	if err != nil || fmt.Sprint(gens) != "[0 2]" {
		t.Fatalf("load unchanged, etl changed = %v, %v; want [0 2]", gens, err)
	}
	if gens, err = s.RecordNotifyStates(ctx, nil); err != nil || len(gens) != 0 {
		t.Fatalf("no states = %v, %v", gens, err)
	}
}
