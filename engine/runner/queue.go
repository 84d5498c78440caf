package runner

import (
	"sort"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
)

// TagLimit caps how many runs whose DAG carries a tag may run at once.
// Value "*" applies the limit to each value of Key separately.
type TagLimit = store.TagLimit

// Limits are the queue's concurrency rules, counted over every instance of
// the store when a run is claimed.
type Limits struct {
	MaxConcurrentRuns int // <= 0: DefaultMaxConcurrentRuns
	TagLimits         []TagLimit
}

// DefaultMaxConcurrentRuns is max_concurrent_runs when unset.
const DefaultMaxConcurrentRuns = 5

// candidate is what the limits need to know about a queued run's DAG.
type candidate struct {
	DAG string
	store.DAGLimit
}

// active counts the runs holding a slot.
type active = store.Usage

func newActive() *active { return store.NewUsage() }

func (l Limits) claimLimits(info func(string) (candidate, bool)) store.ClaimLimits {
	return store.ClaimLimits{MaxConcurrentRuns: l.max(), TagLimits: l.TagLimits, DAG: func(name string) (store.DAGLimit, bool) {
		c, ok := info(name)
		return c.DAGLimit, ok
	}}
}

// blocked says why c may not start now, or "" when it may (the store's
// rule, the one claims apply).
func (l Limits) blocked(a *active, c candidate) string {
	return store.ClaimLimits{MaxConcurrentRuns: l.max(), TagLimits: l.TagLimits}.Blocked(a, c.DAG, c.DAGLimit)
}

func (l Limits) max() int {
	if l.MaxConcurrentRuns <= 0 {
		return DefaultMaxConcurrentRuns
	}
	return l.MaxConcurrentRuns
}

// queued is one run waiting in the queue.
type queued struct {
	id       int64
	dag      string
	priority int
	queuedAt time.Time
	run      store.Run // the stored run, for the snapshot and the start

	prev, next *queued
}

// before is the queue order: higher priority first, then enqueue time, then
// id.
func (q *queued) before(o *queued) bool {
	if q.priority != o.priority {
		return q.priority > o.priority
	}
	if !q.queuedAt.Equal(o.queuedAt) {
		return q.queuedAt.Before(o.queuedAt)
	}
	return q.id < o.id
}

// queue holds waiting runs in start order: one FIFO list per priority.
// Push is O(1) for the usual case (newest run at the tail of its priority),
// removal is O(1), and walking in order touches only waiting runs.
type queue struct {
	lanes map[int]*lane
	prios []int // descending
	byID  map[int64]*queued
}

type lane struct{ head, tail *queued }

func newQueue() *queue {
	return &queue{lanes: map[int]*lane{}, byID: map[int64]*queued{}}
}

func (q *queue) len() int { return len(q.byID) }

func (q *queue) has(id int64) bool { _, ok := q.byID[id]; return ok }

func (q *queue) push(it *queued) {
	if q.has(it.id) {
		return
	}
	q.byID[it.id] = it
	ln := q.lanes[it.priority]
	if ln == nil {
		ln = &lane{}
		q.lanes[it.priority] = ln
		i := sort.Search(len(q.prios), func(i int) bool { return q.prios[i] < it.priority })
		q.prios = append(q.prios, 0)
		copy(q.prios[i+1:], q.prios[i:])
		q.prios[i] = it.priority
	}
	// Walk back from the tail past runs that belong after it (a recovered
	// or externally queued run may be older than the newest ones).
	at := ln.tail
	for at != nil && it.before(at) {
		at = at.prev
	}
	if at == nil {
		it.prev, it.next = nil, ln.head
		if ln.head != nil {
			ln.head.prev = it
		}
		ln.head = it
	} else {
		it.prev, it.next = at, at.next
		if at.next != nil {
			at.next.prev = it
		}
		at.next = it
	}
	if it.next == nil {
		ln.tail = it
	}
}

func (q *queue) remove(id int64) *queued {
	it, ok := q.byID[id]
	if !ok {
		return nil
	}
	delete(q.byID, id)
	ln := q.lanes[it.priority]
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		ln.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		ln.tail = it.prev
	}
	it.prev, it.next = nil, nil
	if ln.head == nil {
		delete(q.lanes, it.priority)
		i := sort.Search(len(q.prios), func(i int) bool { return q.prios[i] <= it.priority })
		q.prios = append(q.prios[:i], q.prios[i+1:]...)
	}
	return it
}

// each calls fn for every queued run in start order until fn returns false.
func (q *queue) each(fn func(*queued) bool) {
	for _, p := range q.prios {
		for it := q.lanes[p].head; it != nil; {
			next := it.next // fn may remove it
			if !fn(it) {
				return
			}
			it = next
		}
	}
}

// plan walks the queue in order and picks the runs that may start now,
// counting each pick against the limits so later runs see it. A blocked run
// does not block the runs behind it. info describes a run's DAG; a DAG it
// does not know (deleted, disabled) is picked so that the run fails rather
// than wait for ever. With visit set, plan visits every run, telling why
// each one not picked waits ("" for a pick); without, it stops once the
// global limit is reached.
func (q *queue) plan(a *active, lim Limits, info func(dag string) (candidate, bool), visit func(it *queued, why string)) []*queued {
	var picks []*queued
	max := lim.max()
	// Runs of one DAG wait for the same reason until a pick changes the
	// counts: format it once per DAG, not once per run.
	memo := map[string]string{}
	q.each(func(it *queued) bool {
		c, known := info(it.dag)
		if !known {
			picks = append(picks, it)
			if visit != nil {
				visit(it, "")
			}
			return true
		}
		why, seen := memo[it.dag]
		if !seen {
			why = lim.blocked(a, c)
		}
		if why == "" {
			picks = append(picks, it)
			a.Add(c.DAG, c.DAGLimit, 1)
			clear(memo)
		} else {
			memo[it.dag] = why
		}
		if visit != nil {
			visit(it, why)
		}
		return visit != nil || a.Total < max
	})
	return picks
}
