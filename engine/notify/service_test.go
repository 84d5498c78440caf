package notify

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

const wait = 10 * time.Second

func start(t *testing.T, cfg Config, st store.Notifications, eng *fakeEngine) *Service {
	t.Helper()
	svc, err := New(cfg, st, eng)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return svc
}

// set publishes a snapshot and waits until the service stored its events.
func set(t *testing.T, svc *Service, eng *fakeEngine, s *api.Snapshot) {
	t.Helper()
	// Drain a signal of an earlier snapshot first.
	select {
	case <-svc.observed:
	default:
	}
	eng.set(s)
	select {
	case <-svc.observed:
	case <-time.After(wait):
		t.Fatal("the service did not observe the snapshot")
	}
}

func run(id int64, dag string, state api.RunState, at time.Time) api.Run {
	return api.Run{ID: id, DAG: dag, State: state, FinishedAt: at, Error: map[bool]string{true: "task extract: exit status 1"}[state == api.RunFailed]}
}

// TestDeliveredOnceInOrderAcrossRestart: a receiver that refuses, an
// engine restart with the events still in the outbox, then a receiver
// that accepts: every event arrives exactly once, each subject's in the
// order they happened.
func TestDeliveredOnceInOrderAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.OpenDir(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	rcv.setFail(true)
	target, err := ParseTarget(rcv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Targets: []Target{target}, Window: time.Nanosecond, SummaryEvery: -1,
		RetryInitial: time.Millisecond, RetryMax: 5 * time.Millisecond, FailingAfter: 2}
	t0 := time.Unix(1_700_000_000, 0)

	eng := &fakeEngine{snap: dagSnap(map[string]api.DAGStatus{"etl": api.DAGActive, "load": api.DAGActive})}
	svc := start(t, cfg, st, eng)
	set(t, svc, eng, dagSnap(map[string]api.DAGStatus{"etl": api.DAGInvalid, "load": api.DAGActive}))
	set(t, svc, eng, dagSnap(map[string]api.DAGStatus{"etl": api.DAGInvalid, "load": api.DAGActive},
		run(1, "load", api.RunFailed, t0)))
	enginetest.Eventually(t, wait, func() bool {
		s := svc.Status()[0]
		return s.Failing && s.Failures >= 2 && strings.Contains(s.LastError, "503")
	}, "the refusing target shown failing")
	svc.Stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The restart: a new store handle on the same file, a new service
	// whose baseline is the engine as it stands.
	st, err = store.OpenDir(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if ps, _ := st.PendingNotifications(context.Background(), target.Name, 10); len(ps) != 2 {
		t.Fatalf("outbox after the restart holds %d, want the 2 undelivered events", len(ps))
	}
	rcv.setFail(false)
	svc2 := start(t, cfg, st, eng)
	set(t, svc2, eng, dagSnap(map[string]api.DAGStatus{"etl": api.DAGActive, "load": api.DAGActive},
		run(2, "load", api.RunSuccess, t0.Add(time.Minute)), run(1, "load", api.RunFailed, t0)))
	set(t, svc2, eng, dagSnap(map[string]api.DAGStatus{"etl": api.DAGInvalid, "load": api.DAGActive},
		run(2, "load", api.RunSuccess, t0.Add(time.Minute)), run(1, "load", api.RunFailed, t0)))

	want := map[string][]string{"dag/etl": {DAGInvalid, DAGRecovered, DAGInvalid}, "runs/load": {RunFailed, RunRecovered}}
	got := func() map[string][]string {
		out := map[string][]string{}
		for _, r := range rcv.requests() {
			if r.Msg.Folded == 0 {
				out[r.Msg.Subject] = append(out[r.Msg.Subject], r.Msg.Type)
				continue
			}
			for _, e := range r.Msg.Events {
				out[r.Msg.Subject] = append(out[r.Msg.Subject], e.Type)
			}
		}
		return out
	}
	enginetest.Eventually(t, wait, func() bool { return fmt.Sprint(got()) == fmt.Sprint(want) }, "every event delivered")
	enginetest.Eventually(t, wait, func() bool { s := svc2.Status()[0]; return s.Pending == 0 && !s.Failing }, "the target healthy again")
	seen := map[string]bool{}
	for _, r := range rcv.requests() {
		for _, id := range r.Msg.eventIDs() {
			if seen[id] {
				t.Fatalf("event %s delivered twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("delivered %d distinct events, want 5", len(seen))
	}
	if rcv.refusals() == 0 {
		t.Fatal("the receiver never refused: the test proved nothing about retries")
	}
	if ps, _ := st.PendingNotifications(context.Background(), target.Name, 10); len(ps) != 0 {
		t.Fatalf("outbox still holds %d", len(ps))
	}
	// Deriving the same runs again (another restart) adds nothing: their
	// ids are in the outbox as sent.
	svc2.Stop()
	svc3 := start(t, cfg, st, &fakeEngine{snap: dagSnap(nil, run(1, "load", api.RunFailed, t0))})
	evs := svc3.derive.derive(dagSnap(nil, run(3, "load", api.RunFailed, t0.Add(time.Hour))), t0)
	again := newDeriver()
	again.derive(dagSnap(nil), t0)
	evs2 := again.derive(dagSnap(nil, run(3, "load", api.RunFailed, t0.Add(time.Hour))), t0.Add(time.Hour))
	if len(evs) != 1 || len(evs2) != 1 || evs[0].ID != evs2[0].ID {
		t.Fatalf("one run's failure derived twice got ids %v and %v, want one id", evs, evs2)
	}
}

// TestFlappingDAGOneMessagePerWindow: a DAG flipping between invalid and
// valid sends its first change at once and folds the rest into one
// message at the window's end.
func TestFlappingDAGOneMessagePerWindow(t *testing.T) {
	t.Parallel()
	st, _ := enginetest.Store(t)
	rcv := newReceiver(t)
	target, _ := ParseTarget(rcv.URL)
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	clk := enginetest.NewClock(t0)
	eng := &fakeEngine{snap: dagSnap(map[string]api.DAGStatus{"flappy": api.DAGActive, "calm": api.DAGActive})}
	svc := start(t, Config{Targets: []Target{target}, Window: 5 * time.Minute, SummaryEvery: -1, Clock: clk}, st, eng)

	flip := func(i int) {
		status := api.DAGInvalid
		if i%2 == 1 {
			status = api.DAGActive
		}
		set(t, svc, eng, dagSnap(map[string]api.DAGStatus{"flappy": status, "calm": api.DAGActive}))
	}
	flip(0)
	enginetest.EventuallyOn(t, rcv.received, wait, func() bool { return len(rcv.requests()) == 1 }, "the first change sent at once")
	for i := 1; i <= 9; i++ {
		flip(i)
	}
	// Another subject is not held by the flapping one.
	set(t, svc, eng, dagSnap(map[string]api.DAGStatus{"flappy": api.DAGActive, "calm": api.DAGInvalid}))
	enginetest.EventuallyOn(t, rcv.received, wait, func() bool { return len(rcv.requests()) == 2 }, "the other DAG's change sent")
	enginetest.Eventually(t, wait, func() bool { return clk.WaitingUntil(t0.Add(5 * time.Minute)) }, "the sender waiting for the window")
	if n := len(rcv.requests()); n != 2 {
		t.Fatalf("%d messages before the window ended, want 2", n)
	}
	clk.Advance(5 * time.Minute)
	enginetest.EventuallyOn(t, rcv.received, wait, func() bool { return len(rcv.requests()) == 3 }, "the grouped message at the window's end")
	enginetest.Eventually(t, wait, func() bool { return svc.Status()[0].Pending == 0 }, "the outbox drained")

	reqs := rcv.requests()
	if m := reqs[0].Msg; m.Subject != "dag/flappy" || m.Type != DAGInvalid || m.Folded != 0 {
		t.Fatalf("first message = %+v, want flappy's dag.invalid alone", m)
	}
	if m := reqs[1].Msg; m.Subject != "dag/calm" {
		t.Fatalf("second message is about %s, want dag/calm", m.Subject)
	}
	g := reqs[2].Msg
	if g.Subject != "dag/flappy" || g.Folded != 8 || len(g.Events) != 9 || g.Type != DAGRecovered {
		t.Fatalf("grouped message: subject %s, type %s, folded %d, %d events; want flappy's 9 later changes, newest dag.recovered, 8 folded",
			g.Subject, g.Type, g.Folded, len(g.Events))
	}
	for i, e := range g.Events {
		if want := []string{DAGRecovered, DAGInvalid}[i%2]; e.Type != want {
			t.Fatalf("grouped event %d is %s, want %s (in order)", i, e.Type, want)
		}
	}
	if !strings.Contains(g.Text, "8 earlier events folded") {
		t.Fatalf("grouped text %q does not say how many were folded", g.Text)
	}
}

// TestGenericBodySigned: the receiver checks the HMAC of the body with
// the shared secret, as the README tells receivers to.
func TestGenericBodySigned(t *testing.T) {
	t.Parallel()
	st, _ := enginetest.Store(t)
	rcv := newReceiver(t)
	target, _ := ParseTarget("events=dag.*|review.* name=ops " + rcv.URL)
	const secret = "s3cret-shared-with-ops"
	eng := &fakeEngine{snap: dagSnap(map[string]api.DAGStatus{"etl": api.DAGActive})}
	svc := start(t, Config{Targets: []Target{target}, SummaryEvery: -1, Secret: secret}, st, eng)
	next := dagSnap(map[string]api.DAGStatus{"etl": api.DAGInvalid}, run(7, "etl", api.RunFailed, time.Now()))
	set(t, svc, eng, next)
	enginetest.EventuallyOn(t, rcv.received, wait, func() bool { return len(rcv.requests()) == 1 }, "the dag.invalid event")

	r := rcv.requests()[0]
	if !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign([]byte(secret), r.Body))) {
		t.Fatalf("signature %q does not verify the body", r.Header.Get(SignatureHeader))
	}
	if hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign([]byte("another secret"), r.Body))) {
		t.Fatal("the signature verifies under another secret")
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "type", "subject", "at", "text", "data", "folded"} {
		if _, ok := body[k]; !ok {
			t.Fatalf("body lacks %q: %s", k, r.Body)
		}
	}
	if r.Msg.Type != DAGInvalid || r.Msg.Data.DAG != "etl" || len(r.Msg.Data.Errors) != 1 || r.Header.Get("X-Sluice-Id") != r.Msg.ID {
		t.Fatalf("message = %+v, headers %v", r.Msg, r.Header)
	}
	if strings.Contains(string(r.Body), secret) {
		t.Fatal("the body carries the secret")
	}
	// The run failure is filtered out (events=dag.*|review.*): nothing
	// of it is stored for this target.
	enginetest.Eventually(t, wait, func() bool { return svc.Status()[0].Pending == 0 }, "the delivery marked")
	if ps, _ := st.PendingNotifications(context.Background(), "ops", 10); len(ps) != 0 {
		t.Fatalf("pending for ops: %+v, want none (run.failed filtered)", ps)
	}
	if s := svc.Status()[0]; s.Name != "ops" || s.LastDelivery.IsZero() {
		t.Fatalf("status = %+v", s)
	}
}

// TestSlackBodyAndSummary: a Slack target gets messages with blocks, and
// the weekly summary with the models-per-day chart.
func TestSlackBodyAndSummary(t *testing.T) {
	t.Parallel()
	st, _ := enginetest.Store(t)
	rcv := newReceiver(t)
	target, _ := ParseTarget("slack " + rcv.URL)
	// Sunday 23:00 UTC: the weekly summary is due in an hour.
	t0 := time.Date(2025, 3, 9, 23, 0, 0, 0, time.UTC)
	clk := enginetest.NewClock(t0)
	snap := dagSnap(map[string]api.DAGStatus{"etl": api.DAGActive})
	snap.Meta = &api.MetaReport{Candidates: 4, StaleReports: 2, ModelsPerDay: []api.DayCount{
		{Day: "2025-03-07", Count: 40}, {Day: "2025-03-08", Count: 20}, {Day: "2025-03-09", Count: 0}}}
	// Two candidates proposed this week, three in an older item.
	two, three := make([]api.ReviewSubject, 2), make([]api.ReviewSubject, 3)
	snap.Reviews = []api.Review{
		{ID: 1, Kind: "deprecate", State: api.ReviewPROpen, Subjects: three, CreatedAt: t0.AddDate(0, 0, -20)},
		{ID: 2, Kind: "deprecate", State: api.ReviewPROpen, Subjects: two, CreatedAt: t0.AddDate(0, 0, -1)},
	}
	eng := &fakeEngine{snap: snap}
	svc := start(t, Config{Targets: []Target{target}, Clock: clk, Secret: "not for slack"}, st, eng)

	enginetest.Eventually(t, wait, func() bool { return clk.WaitingUntil(t0.Add(time.Hour)) }, "the summary scheduled")
	clk.Advance(time.Hour)
	enginetest.EventuallyOn(t, rcv.received, wait, func() bool { return len(rcv.requests()) == 1 }, "the summary")
	r := rcv.requests()[0]
	if r.Header.Get(SignatureHeader) != "" {
		t.Fatal("a Slack webhook got a signature header")
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(r.Body, &msg); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, b := range msg.Blocks {
		types = append(types, b.Type)
	}
	if fmt.Sprint(types) != "[header section section context]" {
		t.Fatalf("blocks %v, want header, text, chart, context", types)
	}
	if msg.Blocks[0].Text.Type != "plain_text" || !strings.Contains(msg.Blocks[0].Text.Text, "summary") {
		t.Fatalf("header = %+v", msg.Blocks[0].Text)
	}
	if !strings.Contains(msg.Blocks[1].Text.Text, "4 deprecation candidates (2 new), 2 stale reports") || msg.Blocks[1].Text.Type != "mrkdwn" {
		t.Fatalf("text block = %+v", msg.Blocks[1].Text)
	}
	chart := msg.Blocks[2].Text.Text
	wantChart := "2025-03-07 " + strings.Repeat("█", 20) + " 40\n2025-03-08 " + strings.Repeat("█", 10) + strings.Repeat(" ", 10) + " 20\n2025-03-09 " + strings.Repeat(" ", 20) + " 0\n"
	if !strings.Contains(chart, "```\n"+wantChart+"```") {
		t.Fatalf("chart block:\n%s\nwant the chart\n%s", chart, wantChart)
	}
	if msg.Text == "" || len(msg.Blocks[3].Elements) != 1 || !strings.Contains(msg.Blocks[3].Elements[0].Text, "id ") {
		t.Fatalf("fallback text %q, context %+v", msg.Text, msg.Blocks[3].Elements)
	}

	// An event: blocks carry its errors, escaped for mrkdwn.
	next := dagSnap(map[string]api.DAGStatus{"etl": api.DAGInvalid})
	next.DAGs[0].Errors = []api.ErrorLine{{Node: "a", Msg: "edge a -> <b> names no node"}}
	set(t, svc, eng, next)
	enginetest.EventuallyOn(t, rcv.received, wait, func() bool { return len(rcv.requests()) == 2 }, "the dag.invalid message")
	body := string(rcv.requests()[1].Body)
	if !strings.Contains(body, `a: edge a -\u0026gt; \u0026lt;b\u0026gt; names no node`) || !strings.Contains(body, `"type":"header"`) {
		t.Fatalf("slack body %s", body)
	}
}
