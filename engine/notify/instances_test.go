package notify

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// TestTwoInstancesDeliverEachEventOnce: two instances share one
// PostgreSQL store and see the same changes (DAGs turning invalid and
// back, runs failing and recovering); a third instance died holding a
// claim on two undelivered events; the receiver refuses every fifth
// request. Every event reaches the receiver exactly once, each subject's
// in the order they happened, and the dead instance's only after its
// lease.
func TestTwoInstancesDeliverEachEventOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	ctx := context.Background()
	open := func() store.Interface {
		st, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()

	rcv := newReceiver(t)
	rcv.failEvery = 5
	target, err := ParseTarget(rcv.URL)
	if err != nil {
		t.Fatal(err)
	}

	// The dead instance's claim.
	deadUntil := time.Now().Add(time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	ghost := []store.Notification{
		{Target: target.Name, EventID: "ghost-1", Type: DAGInvalid, Subject: "dag/ghost", Payload: []byte(`{"id":"ghost-1","type":"dag.invalid","subject":"dag/ghost"}`), CreatedAt: t0},
		{Target: target.Name, EventID: "ghost-2", Type: DAGRecovered, Subject: "dag/ghost", Payload: []byte(`{"id":"ghost-2","type":"dag.recovered","subject":"dag/ghost"}`), CreatedAt: t0},
	}
	if _, err := stA.AddNotifications(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	if got, err := stA.ClaimNotifications(ctx, target.Name, "dead", time.Now(), deadUntil, 10); err != nil || len(got) != 2 {
		t.Fatalf("the dead instance's claim = %d, %v", len(got), err)
	}

	cfg := Config{Targets: []Target{target}, Window: time.Nanosecond, SummaryEvery: -1,
		RetryInitial: time.Millisecond, RetryMax: 20 * time.Millisecond,
		Client: &http.Client{Timeout: time.Second}, ClaimLease: 2 * time.Second}
	names := []string{"etl", "load", "report"}
	steps := flappingSteps(names, 24, t0)
	engA, engB := &fakeEngine{snap: steps[0]}, &fakeEngine{snap: steps[0]}
	svcA, svcB := start(t, cfg, stA, engA), start(t, cfg, stB, engB)

	// What one instance alone announces, per subject in order.
	want := map[string][]string{"dag/ghost": {DAGInvalid, DAGRecovered}}
	alone := newDeriver()
	alone.derive(steps[0], t0)
	total := 2
	for i, s := range steps[1:] {
		for _, ev := range alone.derive(s, t0) {
			want[ev.Subject] = append(want[ev.Subject], ev.Type)
			total++
		}
		// The two see each change in turn, first one then the other.
		if i%2 == 0 {
			set(t, svcA, engA, s)
			set(t, svcB, engB, s)
		} else {
			set(t, svcB, engB, s)
			set(t, svcA, engA, s)
		}
	}

	type delivery struct {
		typ string
		at  time.Time
	}
	collect := func() (map[string]int, map[string][]string, []delivery) {
		count, bySubject := map[string]int{}, map[string][]string{}
		var ghosts []delivery
		for _, r := range rcv.requests() {
			ids, types := r.Msg.eventIDs(), []string{r.Msg.Type}
			if r.Msg.Folded > 0 {
				types = types[:0]
				for _, e := range r.Msg.Events {
					types = append(types, e.Type)
				}
			}
			for i, id := range ids {
				count[id]++
				bySubject[r.Msg.Subject] = append(bySubject[r.Msg.Subject], types[i])
				if r.Msg.Subject == "dag/ghost" {
					ghosts = append(ghosts, delivery{types[i], r.at})
				}
			}
		}
		return count, bySubject, ghosts
	}
	enginetest.Eventually(t, 20*time.Second, func() bool {
		count, _, _ := collect()
		return len(count) >= total
	}, fmt.Sprintf("%d events delivered", total))
	enginetest.Eventually(t, 10*time.Second, func() bool {
		ps, err := stA.PendingNotifications(ctx, target.Name, 1)
		return err == nil && len(ps) == 0
	}, "the outbox drained")

	count, bySubject, ghosts := collect()
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(count) != total {
		t.Errorf("delivered %d distinct events, want %d", len(count), total)
	}
	for subject, types := range want {
		if !slices.Equal(bySubject[subject], types) {
			t.Errorf("%s delivered %v, want %v in that order", subject, bySubject[subject], types)
		}
	}
	if len(ghosts) != 2 || ghosts[0].at.Before(deadUntil) {
		t.Errorf("the dead instance's events: %+v, want both, after its lease (%s)", ghosts, deadUntil.Format(time.StampMilli))
	}
	if rcv.refusals() == 0 {
		t.Error("the receiver never refused: retries were not exercised")
	}
}

// flappingSteps are n+1 snapshots (the first the baseline) in which the
// DAGs turn invalid and back in a pattern, and each DAG's runs fail and
// succeed: every kind of event, several per subject.
func flappingSteps(names []string, n int, t0 time.Time) []*api.Snapshot {
	var out []*api.Snapshot
	var finished []api.Run
	for i := 0; i <= n; i++ {
		status := map[string]api.DAGStatus{}
		for j, name := range names {
			status[name] = api.DAGActive
			if i > 0 && (i+j)%3 == 0 {
				status[name] = api.DAGInvalid
			}
		}
		if i > 0 {
			name := names[i%len(names)]
			state := api.RunFailed
			if i%4 == 0 {
				state = api.RunSuccess
			}
			finished = append([]api.Run{run(int64(i), name, state, t0.Add(time.Duration(i)*time.Second))}, finished...)
		}
		out = append(out, dagSnap(status, finished...))
	}
	return out
}
