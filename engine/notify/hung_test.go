package notify

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestHungTargetHoldsNothingElse: a receiver that takes a request and
// never answers holds up neither the events being derived and stored nor
// another target's deliveries; its own messages wait in the outbox.
func TestHungTargetHoldsNothingElse(t *testing.T) {
	t.Parallel()
	st, _ := enginetest.Store(t)
	release := make(chan struct{})
	hungCalled := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hungCalled <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees the handler before Close waits for it
	healthy := newReceiver(t)
	hungTarget, err := ParseTarget("name=hung " + hung.URL)
	if err != nil {
		t.Fatal(err)
	}
	okTarget, err := ParseTarget("name=ok " + healthy.URL)
	if err != nil {
		t.Fatal(err)
	}
	// No client timeout: only the service's design keeps the hang local.
	cfg := Config{Targets: []Target{hungTarget, okTarget}, SummaryEvery: -1, Window: time.Millisecond, Client: &http.Client{}}
	eng := &fakeEngine{snap: dagSnap(map[string]api.DAGStatus{"a": api.DAGActive, "b": api.DAGActive})}
	svc := start(t, cfg, st, eng)

	set(t, svc, eng, dagSnap(map[string]api.DAGStatus{"a": api.DAGInvalid, "b": api.DAGActive}))
	select {
	case <-hungCalled:
	case <-time.After(wait):
		t.Fatal("the hung target was never called")
	}
	enginetest.EventuallyOn(t, healthy.received, wait, func() bool { return len(healthy.requests()) == 1 }, "the healthy target's first message")

	// While the hung request is in flight, later changes are still derived
	// and stored (set waits for that) and delivered to the healthy target.
	set(t, svc, eng, dagSnap(map[string]api.DAGStatus{"a": api.DAGInvalid, "b": api.DAGInvalid}))
	enginetest.EventuallyOn(t, healthy.received, wait, func() bool { return len(healthy.requests()) == 2 }, "the healthy target's second message")
	if m := healthy.requests()[1].Msg; m.Subject != "dag/b" || m.Type != DAGInvalid {
		t.Fatalf("second message = %s %s, want dag/b dag.invalid", m.Subject, m.Type)
	}
	enginetest.Eventually(t, wait, func() bool {
		s := svc.Status()
		return s[0].Name == "hung" && s[0].Pending >= 2 && s[0].LastDelivery.IsZero() && s[1].Pending == 0
	}, "the hung target's two messages pending, the healthy one drained")
}
