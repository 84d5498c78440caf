package postgres

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// Bounds of every group: statements in flight at once, calls one
// statement carries. One flight per group, as the SQLite store has one
// writer: calls arriving while it is out ride the next one together,
// which is what saves the server's work; a second flight would mostly
// carry single calls (measured: ~1.6× the server CPU per run with eight
// producers), and would take a pool connection more from the claims.
const (
	groupFlights = 1
	groupMax     = 256
)

// group merges concurrent calls of one write into one statement (group
// commit): a caller queues its call, and if fewer than flights statements
// of the group are in flight it sends one itself, carrying every call
// queued by then. One statement is one round trip, one commit and one
// WAL flush for all of them, where each call alone pays all three — and
// on a small box the per-statement work of the server (planning,
// executor start, opening the table's indexes, the commit) is most of
// what a run costs.
//
// Each call is answered only after the statement carrying it committed
// (or failed): as durable as a statement of its own. Nothing runs in the
// background: a flight is sent by a caller, and when calls are still
// queued after it the flight goes on in a goroutine of its own, so no
// caller waits for more than the flight carrying it.
type group[Req any] struct {
	// flights bounds the group's statements in flight; max the calls one
	// statement carries.
	flights, max int
	// key, if set, is a call's conflict key: one statement carries at most
	// one call of a key (a run written twice at once is written twice, in
	// order).
	key func(Req) int64
	// flush writes calls in one statement and sets each one's outcome.
	flush func(ctx context.Context, calls []*call[Req])

	mu     sync.Mutex
	queue  []*call[Req]
	flying int
	// Statements sent and calls they carried, for the benchmarks.
	sent, carried int64
}

// call is one caller's write and its outcome.
type call[Req any] struct {
	req  Req
	id   int64 // what the write returns, if anything (a new run's id)
	err  error
	done chan struct{}
}

// do queues req, sends a flight if the group may, and returns req's call
// once answered. A call still queued when ctx ends is withdrawn
// (ctx.Err()); once sent it is answered with its outcome, whatever ctx
// says, as the SQLite store's writer does.
func (g *group[Req]) do(ctx context.Context, req Req) *call[Req] {
	c := &call[Req]{req: req, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := g.flying < g.flights
	if lead {
		g.flying++
	}
	g.mu.Unlock()
	if lead {
		// The flight outlives its sender's deadline: other callers ride it.
		g.fly(context.WithoutCancel(ctx), true)
	}
	select {
	case <-c.done:
		return c
	case <-ctx.Done():
	}
	g.mu.Lock()
	for i, q := range g.queue {
		if q == c {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			g.mu.Unlock()
			c.err = ctx.Err()
			return c
		}
	}
	g.mu.Unlock()
	<-c.done
	return c
}

// fly sends one statement with the queued calls (at most max, one per
// key), then hands the rest to a new flight or ends. The caller holds a
// flight slot.
func (g *group[Req]) fly(ctx context.Context, inline bool) {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.flying--
			g.mu.Unlock()
			return
		}
		calls := g.take()
		g.sent++
		g.carried += int64(len(calls))
		g.mu.Unlock()
		g.flush(ctx, calls)
		for _, c := range calls {
			close(c.done)
		}
		if !inline {
			continue
		}
		// The sender's own call is answered: calls queued meanwhile are
		// carried by a flight of their own.
		g.mu.Lock()
		more := len(g.queue) > 0
		if !more {
			g.flying--
		}
		g.mu.Unlock()
		if more {
			go g.fly(ctx, false)
		}
		return
	}
}

// take removes the calls of the next statement from the queue, oldest
// first; calls whose key is taken already wait for a later one.
func (g *group[Req]) take() []*call[Req] {
	calls := make([]*call[Req], 0, min(len(g.queue), g.max))
	seen := make(map[int64]bool, cap(calls))
	rest := g.queue[:0]
	for _, c := range g.queue {
		if len(calls) == g.max {
			rest = append(rest, c)
			continue
		}
		if g.key != nil {
			k := g.key(c.req)
			if seen[k] {
				rest = append(rest, c)
				continue
			}
			seen[k] = true
		}
		calls = append(calls, c)
	}
	clear(g.queue[len(rest):])
	g.queue = rest
	return calls
}

// rejected reports whether err is the server refusing a statement: it
// was rolled back whole, so each of its calls may be retried alone. Any
// other failure (a connection lost before the answer) may have committed,
// and a retry could write twice.
func rejected(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}
