package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest/poll"
)

// stallGroup is a group whose flush records what each statement carried
// and answers every call with its request; the first statement waits for
// release, so calls queue behind it.
type stallGroup struct {
	*group[int64]
	entered, release chan struct{}

	smu        sync.Mutex // guards statements
	statements [][]int64
}

func newStallGroup(flights, max int, keyed bool) *stallGroup {
	sg := &stallGroup{entered: make(chan struct{}), release: make(chan struct{})}
	sg.group = &group[int64]{flights: flights, max: max, flush: func(_ context.Context, calls []*call[int64]) {
		sg.smu.Lock()
		first := len(sg.statements) == 0
		var carried []int64
		for _, c := range calls {
			carried = append(carried, c.req)
			c.id = c.req
		}
		sg.statements = append(sg.statements, carried)
		sg.smu.Unlock()
		if first {
			close(sg.entered)
			<-sg.release
		}
	}}
	if keyed {
		sg.key = func(r int64) int64 { return r % 10 }
	}
	return sg
}

// queued waits until n calls are queued.
func (sg *stallGroup) queued(t *testing.T, n int) {
	t.Helper()
	var got int
	if !poll.Until(10*time.Second, func() bool {
		sg.mu.Lock()
		got = len(sg.queue)
		sg.mu.Unlock()
		return got == n
	}) {
		t.Fatalf("%d calls queued, want %d", got, n)
	}
}

func (sg *stallGroup) start(ctx context.Context, req int64) <-chan *call[int64] {
	out := make(chan *call[int64], 1)
	go func() { out <- sg.do(ctx, req) }()
	return out
}

func TestGroupCarriesQueuedCallsInOneStatement(t *testing.T) {
	t.Parallel()
	sg := newStallGroup(1, 100, false)
	first := sg.start(context.Background(), 1)
	<-sg.entered
	var rest []<-chan *call[int64]
	for i := int64(2); i <= 11; i++ {
		rest = append(rest, sg.start(context.Background(), i))
		sg.queued(t, int(i-1))
	}
	close(sg.release)
	if c := <-first; c.id != 1 || c.err != nil {
		t.Fatalf("first call: id %d, err %v", c.id, c.err)
	}
	for i, ch := range rest {
		if c := <-ch; c.id != int64(i+2) || c.err != nil {
			t.Fatalf("call %d: id %d, err %v", i+2, c.id, c.err)
		}
	}
	if len(sg.statements) != 2 || len(sg.statements[1]) != 10 {
		t.Fatalf("statements %v, want [1] then the ten queued behind it", sg.statements)
	}
}

func TestGroupKeepsOneCallPerKeyInAStatement(t *testing.T) {
	t.Parallel()
	sg := newStallGroup(1, 100, true)
	first := sg.start(context.Background(), 100)
	<-sg.entered
	var rest []<-chan *call[int64]
	for i, r := range []int64{1, 11, 2, 21} { // keys 1, 1, 2, 1
		rest = append(rest, sg.start(context.Background(), r))
		sg.queued(t, i+1)
	}
	close(sg.release)
	<-first
	for _, ch := range rest {
		<-ch
	}
	want := [][]int64{{100}, {1, 2}, {11}, {21}}
	if len(sg.statements) != len(want) {
		t.Fatalf("statements %v, want %v", sg.statements, want)
	}
	for i := range want {
		if len(sg.statements[i]) != len(want[i]) {
			t.Fatalf("statements %v, want %v", sg.statements, want)
		}
		for j := range want[i] {
			if sg.statements[i][j] != want[i][j] {
				t.Fatalf("statements %v, want %v", sg.statements, want)
			}
		}
	}
}

func TestGroupBoundsCallsPerStatement(t *testing.T) {
	t.Parallel()
	sg := newStallGroup(1, 3, false)
	first := sg.start(context.Background(), 0)
	<-sg.entered
	var rest []<-chan *call[int64]
	for i := 1; i <= 7; i++ {
		rest = append(rest, sg.start(context.Background(), int64(i)))
		sg.queued(t, i)
	}
	close(sg.release)
	<-first
	for _, ch := range rest {
		<-ch
	}
	sizes := []int{}
	for _, s := range sg.statements {
		sizes = append(sizes, len(s))
	}
	if len(sizes) != 4 || sizes[1] != 3 || sizes[2] != 3 || sizes[3] != 1 {
		t.Fatalf("statement sizes %v, want [1 3 3 1]", sizes)
	}
}

func TestGroupWithdrawsAQueuedCallWhoseContextEnds(t *testing.T) {
	t.Parallel()
	sg := newStallGroup(1, 100, false)
	ctx, cancel := context.WithCancel(context.Background())
	// The sender's own deadline does not cut its statement short.
	first := sg.start(ctx, 1)
	<-sg.entered
	gone := sg.start(ctx, 2)
	sg.queued(t, 1)
	cancel()
	if c := <-gone; !errors.Is(c.err, context.Canceled) {
		t.Fatalf("withdrawn call: err %v, want context.Canceled", c.err)
	}
	sg.queued(t, 0)
	close(sg.release)
	if c := <-first; c.err != nil || c.id != 1 {
		t.Fatalf("sent call: id %d, err %v; want its outcome despite the cancel", c.id, c.err)
	}
	if len(sg.statements) != 1 {
		t.Fatalf("statements %v, want only the first", sg.statements)
	}
}

func TestGroupSendsUpToFlightsStatementsAtOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	inFlight, most := 0, 0
	gate := make(chan struct{})
	g := &group[int64]{flights: 3, max: 1, flush: func(_ context.Context, calls []*call[int64]) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-gate
		mu.Lock()
		inFlight--
		mu.Unlock()
	}}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { g.do(context.Background(), int64(i)) })
	}
	var n int
	if !poll.Until(10*time.Second, func() bool {
		mu.Lock()
		n = inFlight
		mu.Unlock()
		return n == 3
	}) {
		t.Fatalf("%d statements in flight, want 3", n)
	}
	close(gate)
	wg.Wait()
	if most != 3 {
		t.Fatalf("at most %d statements in flight, want 3", most)
	}
	if sent, carried := g.stats(); sent != 10 || carried != 10 {
		t.Fatalf("sent %d carried %d, want 10, 10", sent, carried)
	}
	// Every slot comes back once the queue is empty (the last flight
	// frees its slot just after answering its calls).
	if !poll.Until(10*time.Second, func() bool {
		g.mu.Lock()
		n = g.flying
		g.mu.Unlock()
		return n == 0
	}) {
		t.Fatalf("%d flights still held with nothing queued", n)
	}
}
