package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// fakeEngine hands out snapshots the test sets, and publishes a change
// each time.
type fakeEngine struct {
	mu   sync.Mutex
	snap *api.Snapshot
	subs []chan api.Event
}

func (f *fakeEngine) Snapshot() *api.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeEngine) Subscribe() (<-chan api.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan api.Event, 1)
	f.subs = append(f.subs, ch)
	return ch, func() {}
}

func (f *fakeEngine) set(s *api.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = s
	for _, ch := range f.subs {
		select {
		case ch <- api.Event{Topics: api.TopicDAGs | api.TopicRuns}:
		default:
		}
	}
}

// request is one request a receiver took.
type request struct {
	Header http.Header
	Body   []byte
	Msg    Message
	at     time.Time
}

// receiver records the requests it accepts; fail, while set, makes it
// answer 503 (and record nothing).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	fail    bool
	refused int
	// failEvery, when set, refuses every failEvery-th request too.
	failEvery int
	calls     int
	received  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{received: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		if r.fail || (r.failEvery > 0 && r.calls%r.failEvery == 0) {
			r.refused++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m Message
		_ = json.Unmarshal(b, &m) // a Slack body has none of its fields
		r.reqs = append(r.reqs, request{Header: req.Header.Clone(), Body: b, Msg: m, at: time.Now()})
		select {
		case r.received <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setFail(fail bool) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func (r *receiver) refusals() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// eventIDs lists every event a message carries, oldest first.
func (m Message) eventIDs() []string {
	if m.Folded == 0 {
		return []string{m.ID}
	}
	ids := make([]string, len(m.Events))
	for i, e := range m.Events {
		ids[i] = e.ID
	}
	return ids
}

func dagSnap(status map[string]api.DAGStatus, finished ...api.Run) *api.Snapshot {
	s := &api.Snapshot{Runs: api.Runs{Finished: finished}}
	for name, st := range status {
		d := api.DAG{Name: name, Status: st, Location: "/dags/" + name + ".json"}
		if st == api.DAGInvalid {
			d.Errors = []api.ErrorLine{{Node: "extract", Msg: "unknown task kind \"shell\""}}
		}
		s.DAGs = append(s.DAGs, d)
	}
	return s
}
