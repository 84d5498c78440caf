package runner

import (
	"fmt"
	"github.com/sluice-dev/sluice/engine/store"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"
)

func TestQueueOrder(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name string
		push []queued
		want []int64
	}{
		{"fifo", []queued{{id: 1, queuedAt: t0}, {id: 2, queuedAt: t0.Add(1)}, {id: 3, queuedAt: t0.Add(2)}}, []int64{1, 2, 3}},
		{"priority first", []queued{{id: 1, queuedAt: t0}, {id: 2, priority: 5, queuedAt: t0.Add(1)}, {id: 3, priority: -1, queuedAt: t0.Add(-1)}}, []int64{2, 1, 3}},
		{"older pushed late goes before", []queued{{id: 5, queuedAt: t0.Add(5)}, {id: 6, queuedAt: t0.Add(6)}, {id: 2, queuedAt: t0.Add(2)}}, []int64{2, 5, 6}},
		{"same time by id", []queued{{id: 9, queuedAt: t0}, {id: 3, queuedAt: t0}}, []int64{3, 9}},
		{"duplicate push ignored", []queued{{id: 1, queuedAt: t0}, {id: 1, queuedAt: t0}}, []int64{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQueue()
			for i := range c.push {
				it := c.push[i]
				q.push(&it)
			}
			if got := order(q); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("order %v, want %v", got, c.want)
			}
		})
	}
}

func order(q *queue) []int64 {
	var ids []int64
	q.each(func(it *queued) bool { ids = append(ids, it.id); return true })
	return ids
}

func TestQueueRemoveKeepsOrder(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	q := newQueue()
	var all []*queued
	for i := range 300 {
		it := &queued{id: int64(i + 1), priority: rng.IntN(4), queuedAt: time.Unix(int64(rng.IntN(50)), 0)}
		all = append(all, it)
		q.push(it)
	}
	for _, i := range rng.Perm(300)[:200] {
		if q.remove(all[i].id) == nil {
			t.Fatalf("remove %d found nothing", all[i].id)
		}
		all[i] = nil
	}
	var want []*queued
	for _, it := range all {
		if it != nil {
			want = append(want, it)
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].before(want[j]) })
	got := order(q)
	if len(got) != len(want) || q.len() != len(want) {
		t.Fatalf("%d left, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].id {
			t.Fatalf("position %d: %d, want %d", i, got[i], want[i].id)
		}
	}
	if q.remove(12345) != nil {
		t.Fatal("removed a run never pushed")
	}
}

func TestPlanLimitsAndReasons(t *testing.T) {
	t.Parallel()
	dags := map[string]candidate{
		"daily_etl": {DAG: "daily_etl", DAGLimit: store.DAGLimit{MaxActive: 3, Tags: map[string]string{"team": "data"}}},
		"report":    {DAG: "report", DAGLimit: store.DAGLimit{Tags: map[string]string{"team": "data"}}},
		"ml":        {DAG: "ml", DAGLimit: store.DAGLimit{Tags: map[string]string{"team": "ml"}}},
		"free":      {DAG: "free"},
	}
	type run struct {
		id  int64
		dag string
	}
	cases := []struct {
		name    string
		limits  Limits
		running []string // DAGs of active runs
		queued  []run
		start   []int64
		reasons map[int64]string
	}{
		{
			name:   "global limit",
			limits: Limits{MaxConcurrentRuns: 2},
			queued: []run{{1, "free"}, {2, "free"}, {3, "free"}},
			start:  []int64{1, 2},
			reasons: map[int64]string{
				3: "2/2 runs active (max_concurrent_runs)",
			},
		},
		{
			name:    "default global limit is five",
			running: []string{"free", "free", "free", "free"},
			queued:  []run{{1, "free"}, {2, "free"}},
			start:   []int64{1},
			reasons: map[int64]string{2: "5/5 runs active (max_concurrent_runs)"},
		},
		{
			name:    "dag max_active_runs does not block runs behind",
			limits:  Limits{MaxConcurrentRuns: 10},
			running: []string{"daily_etl", "daily_etl", "daily_etl"},
			queued:  []run{{1, "daily_etl"}, {2, "daily_etl"}, {3, "free"}},
			start:   []int64{3},
			reasons: map[int64]string{1: "3/3 runs of daily_etl active", 2: "3/3 runs of daily_etl active"},
		},
		{
			name:    "dag limit reached by picks of this pass",
			limits:  Limits{MaxConcurrentRuns: 10},
			running: []string{"daily_etl"},
			queued:  []run{{1, "daily_etl"}, {2, "daily_etl"}, {3, "daily_etl"}},
			start:   []int64{1, 2},
			reasons: map[int64]string{3: "3/3 runs of daily_etl active"},
		},
		{
			name:    "tag limit",
			limits:  Limits{MaxConcurrentRuns: 10, TagLimits: []TagLimit{{Key: "team", Value: "data", Limit: 2}}},
			running: []string{"report"},
			queued:  []run{{1, "report"}, {2, "daily_etl"}, {3, "ml"}, {4, "free"}},
			start:   []int64{1, 3, 4},
			reasons: map[int64]string{2: "tag team=data at limit 2"},
		},
		{
			name:    "tag limit per value",
			limits:  Limits{MaxConcurrentRuns: 10, TagLimits: []TagLimit{{Key: "team", Value: "*", Limit: 1}}},
			running: []string{"ml"},
			queued:  []run{{1, "ml"}, {2, "report"}, {3, "daily_etl"}},
			start:   []int64{2},
			reasons: map[int64]string{1: "tag team=ml at limit 1", 3: "tag team=data at limit 1"},
		},
		{
			name:    "most specific reason wins over global",
			limits:  Limits{MaxConcurrentRuns: 3},
			running: []string{"daily_etl", "daily_etl", "daily_etl"},
			queued:  []run{{1, "daily_etl"}, {2, "free"}},
			reasons: map[int64]string{1: "3/3 runs of daily_etl active", 2: "3/3 runs active (max_concurrent_runs)"},
		},
		{
			name:   "unknown dag is picked to fail, without a slot",
			limits: Limits{MaxConcurrentRuns: 1},
			queued: []run{{1, "gone"}, {2, "free"}, {3, "free"}},
			start:  []int64{1, 2},
			reasons: map[int64]string{
				3: "1/1 runs active (max_concurrent_runs)",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info := func(name string) (candidate, bool) { d, ok := dags[name]; return d, ok }
			build := func() (*queue, *active) {
				q := newQueue()
				for i, r := range c.queued {
					q.push(&queued{id: r.id, dag: r.dag, queuedAt: time.Unix(int64(i), 0)})
				}
				a := newActive()
				for _, d := range c.running {
					a.Add(d, dags[d].DAGLimit, 1)
				}
				return q, a
			}
			// Reporting pass: every run visited.
			q, a := build()
			reasons := map[int64]string{}
			picks := q.plan(a, c.limits, info, func(it *queued, why string) {
				if why != "" {
					reasons[it.id] = why
				}
			})
			if got := ids(picks); !reflect.DeepEqual(got, c.start) {
				t.Fatalf("picked %v, want %v", got, c.start)
			}
			if len(c.reasons) == 0 {
				c.reasons = map[int64]string{}
			}
			if !reflect.DeepEqual(reasons, c.reasons) {
				t.Fatalf("reasons %v, want %v", reasons, c.reasons)
			}
			// Dispatch pass: same picks.
			q, a = build()
			if got := ids(q.plan(a, c.limits, info, nil)); !reflect.DeepEqual(got, c.start) {
				t.Fatalf("dispatch picked %v, want %v", got, c.start)
			}
		})
	}
}

func ids(qs []*queued) []int64 {
	var out []int64
	for _, q := range qs {
		out = append(out, q.id)
	}
	return out
}

func TestActiveAddRemove(t *testing.T) {
	t.Parallel()
	a := newActive()
	c := candidate{DAG: "d", DAGLimit: store.DAGLimit{Tags: map[string]string{"k": "v"}}}
	a.Add(c.DAG, c.DAGLimit, 1)
	a.Add(c.DAG, c.DAGLimit, 1)
	a.Add(c.DAG, c.DAGLimit, -1)
	if a.Total != 1 || a.ByDAG["d"] != 1 || a.ByTag["k=v"] != 1 {
		t.Fatalf("active = %+v", a)
	}
	a.Add(c.DAG, c.DAGLimit, -1)
	if a.Total != 0 || len(a.ByDAG) != 0 || len(a.ByTag) != 0 {
		t.Fatalf("active not emptied: %+v", a)
	}
}

func BenchmarkQueuePushRemove(b *testing.B) {
	q := newQueue()
	t0 := time.Now()
	for i := 0; b.Loop(); i++ {
		q.push(&queued{id: int64(i), dag: "d", queuedAt: t0.Add(time.Duration(i))})
		if i >= 1000 {
			q.remove(int64(i - 1000))
		}
	}
	_ = fmt.Sprint(q.len())
}
