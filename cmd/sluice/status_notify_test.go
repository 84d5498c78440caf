package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// TestStatusNotificationsOnBothStores: `sluice status` reads the
// notification outbox beside the engine, on the SQLite file and on a
// PostgreSQL store given with --store: a target whose oldest message
// failed three times makes it exit 1 with the reason; its URL shows
// redacted; once delivered, the status is healthy again.
func TestStatusNotificationsOnBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			state := t.TempDir()
			args := []string{"status", "--json", "--state-dir", state, "--dags-dir", t.TempDir(),
				"--notify", "https://hooks.slack.com/services/T000/B000/SECRETPATH",
				"--notify", "name=ops http://127.0.0.1:9/hook?token=SECRETQUERY"}
			var st store.Interface
			var err error
			url := ""
			if kind == "postgres" {
				url = pgtest.Database(t)
				args = append(args, "--store", url)
				st, err = postgres.Open(ctx, url, postgres.Options{})
			} else {
				st, err = store.OpenDir(ctx, state, store.Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			fillOutbox(t, st)

			code, out, errOut := runCmd(ctx, nil, args...)
			var got api.Status
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("status --json: exit %d, %v\n%s\n%s", code, err, out, errOut)
			}
			if code != exitFailed {
				t.Fatalf("exit %d with a failing target, want %d\n%s", code, exitFailed, out)
			}
			if strings.Contains(out, "SECRET") {
				t.Fatalf("a target's URL path or query leaked:\n%s", out)
			}
			want := "notification target slack:hooks.slack.com (https://hooks.slack.com/…) failing: 3 failed attempts, 2 pending, last error: receiver answered 503 Service Unavailable"
			if len(got.Problems) != 1 || got.Problems[0] != want {
				t.Fatalf("problems %q, want [%q]", got.Problems, want)
			}
			n := got.Notifications
			if n == nil || !n.Available || len(n.Targets) != 3 {
				t.Fatalf("notifications %+v, want the 2 configured targets and the outbox's third", n)
			}
			slack, ops, gone := n.Targets[0], n.Targets[1], n.Targets[2]
			if slack.Kind != "slack" || !slack.Configured || !slack.Failing || slack.Pending != 2 || slack.Failures != 3 || !slack.LastDelivery.IsZero() {
				t.Errorf("slack target %+v", slack)
			}
			if ops.Name != "ops" || ops.Kind != "generic" || ops.URL != "http://127.0.0.1:9/…" || ops.Failing || ops.Pending != 0 || ops.LastDelivery.IsZero() {
				t.Errorf("ops target %+v", ops)
			}
			if gone.Name != "retired" || gone.Configured || gone.Failing || gone.Pending != 1 {
				t.Errorf("a target only the outbox knows %+v: want listed, not failing", gone)
			}
			if got.Store.Kind != kind || !got.Store.Exists || got.Store.SizeBytes <= 0 {
				t.Errorf("store %+v", got.Store)
			}
			if kind == "postgres" && got.Store.Location != store.Redact(url) {
				t.Errorf("store location %q, want %q", got.Store.Location, store.Redact(url))
			}

			// The text form says the same.
			code, text, _ := runCmd(ctx, nil, append([]string{"status"}, args[2:]...)...)
			for _, want := range []string{"slack:hooks.slack.com  slack https://hooks.slack.com/…", "FAILING (3 failed attempts): receiver answered 503", "ops", "retired", "not configured", "- notification target slack:hooks.slack.com"} {
				if !strings.Contains(text, want) {
					t.Errorf("text status (exit %d) lacks %q:\n%s", code, want, text)
				}
			}

			// Delivered at last: healthy.
			pending, err := st.PendingNotifications(ctx, "slack:hooks.slack.com", 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.MarkNotificationsSent(ctx, []int64{pending[0].Seq, pending[1].Seq}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if code, out, _ := runCmd(ctx, nil, args...); code != exitOK {
				t.Fatalf("after delivery: exit %d\n%s", code, out)
			}
		})
	}
}

// fillOutbox stores two messages for the Slack target, the oldest failed
// three times; one delivered message for ops; one pending for a target no
// longer configured.
func fillOutbox(t *testing.T, st store.Interface) {
	t.Helper()
	ctx := context.Background()
	at := time.Now().Add(-time.Hour)
	row := func(target, id string) store.Notification {
		return store.Notification{Target: target, EventID: id, Type: "run.failed", Subject: "runs/etl", Payload: []byte(`{}`), CreatedAt: at}
	}
	if _, err := st.AddNotifications(ctx, []store.Notification{row("slack:hooks.slack.com", "a"), row("slack:hooks.slack.com", "b"),
		row("ops", "a"), row("retired", "a")}); err != nil {
		t.Fatal(err)
	}
	slack, err := st.PendingNotifications(ctx, "slack:hooks.slack.com", 10)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := st.NotificationFailed(ctx, []int64{slack[0].Seq}, "receiver answered 503 Service Unavailable"); err != nil {
			t.Fatal(err)
		}
	}
	ops, err := st.PendingNotifications(ctx, "ops", 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkNotificationsSent(ctx, []int64{ops[0].Seq}, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}
