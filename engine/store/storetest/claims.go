package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// shared opens n stores on one fresh place: n processes on one database
// (on SQLite, n handles of one file, whose writes the file serialises).
func (h harness) shared(t *testing.T, n int) []store.Interface {
	t.Helper()
	first, place := h.openPlace(t)
	out := []store.Interface{first}
	for len(out) < n {
		out = append(out, h.reopen(t, place))
	}
	return out
}

func enqueue(t *testing.T, s store.Interface, dag string, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		id, err := s.CreateRun(context.Background(), store.NewRun{DAG: dag})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// claimAll has every store claim with several workers until nothing more
// is taken, and returns each claim by run id, failing on a run taken
// twice.
func claimAll(t *testing.T, sts []store.Interface, workers int, lim store.ClaimLimits) map[int64]store.Claim {
	t.Helper()
	var mu sync.Mutex
	got := map[int64]store.Claim{}
	var wg sync.WaitGroup
	for i, s := range sts {
		for w := range workers {
			wg.Go(func() {
				id := fmt.Sprintf("inst-%d", i)
				for {
					cs, _, err := s.ClaimRuns(context.Background(), id, time.Now(), lim, 3)
					if err != nil {
						t.Errorf("instance %d worker %d: %v", i, w, err)
						return
					}
					if len(cs) == 0 {
						return
					}
					mu.Lock()
					for _, c := range cs {
						if prev, dup := got[c.Run.ID]; dup {
							t.Errorf("run %d claimed twice: by %s and %s", c.Run.ID, prev.Run.Instance, c.Run.Instance)
						}
						got[c.Run.ID] = c
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return got
}

func testClaimersNeverTakeOneRunTwice(t *testing.T, h harness) {
	ctx := context.Background()
	sts := h.shared(t, 3)
	const n = 150
	enqueue(t, sts[0], "d", n)
	got := claimAll(t, sts, 3, store.ClaimLimits{})
	if len(got) != n {
		t.Fatalf("claimed %d runs, want %d", len(got), n)
	}
	for id, c := range got {
		r, err := sts[1].Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != api.RunRunning || r.StartedAt.IsZero() || c.Token != 1 || r.Instance != c.Run.Instance || r.Instance == "" {
			t.Fatalf("claimed run %d = %+v (claim %+v)", id, r, c)
		}
	}
	if q, _ := sts[2].QueuedCount(ctx, ""); q != 0 {
		t.Fatalf("%d runs left queued", q)
	}
}

func testClaimOrderIsPriorityThenAge(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	low, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	high, _ := s.CreateRun(ctx, store.NewRun{DAG: "d", Priority: 5})
	low2, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	for _, want := range []int64{high, low, low2} {
		cs, _, err := s.ClaimRuns(ctx, "i", time.Now(), store.ClaimLimits{}, 1)
		if err != nil || len(cs) != 1 || cs[0].Run.ID != want {
			t.Fatalf("claimed %+v (%v), want run %d", cs, err, want)
		}
	}
	if cs, wait, err := s.ClaimRuns(ctx, "i", time.Now(), store.ClaimLimits{}, 1); len(cs) != 0 || wait != "" || err != nil {
		t.Fatalf("empty queue: %v wait %q err %v", cs, wait, err)
	}
}

func testClaimLimitsHoldAcrossInstances(t *testing.T, h harness) {
	ctx := context.Background()
	sts := h.shared(t, 3)
	enqueue(t, sts[0], "a", 20)
	enqueue(t, sts[0], "b", 10)
	enqueue(t, sts[0], "c", 10)
	dags := map[string]store.DAGLimit{
		"a": {MaxActive: 2},
		"b": {Tags: map[string]string{"team": "x"}},
		"c": {Tags: map[string]string{"team": "x"}},
	}
	lim := store.ClaimLimits{MaxConcurrentRuns: 9, TagLimits: []store.TagLimit{{Key: "team", Value: "*", Limit: 6}},
		DAG: func(n string) (store.DAGLimit, bool) { d, ok := dags[n]; return d, ok }}
	got := claimAll(t, sts, 3, lim)
	per := map[string]int{}
	for _, c := range got {
		per[c.Run.DAG]++
	}
	if len(got) != 8 || per["a"] != 2 || per["b"]+per["c"] != 6 {
		t.Fatalf("claimed %d runs %v; want 8: a 2 (its bound), b+c 6 (tag team=x)", len(got), per)
	}
	if cs, wait, _ := sts[1].ClaimRuns(ctx, "x", time.Now(), lim, 5); len(cs) != 0 || wait != "2/2 runs of a active" {
		t.Fatalf("at the DAG and tag bounds: %d claimed, wait %q", len(cs), wait)
	}
	// Freeing one tagged slot lets one tagged run in, never an a run.
	for id, c := range got {
		if c.Run.DAG != "a" {
			if err := sts[2].FinishClaimed(ctx, c.Ref(), api.RunSuccess, "", time.Now(), nil); err != nil {
				t.Fatal(err)
			}
			delete(got, id)
			break
		}
	}
	cs, _, err := sts[1].ClaimRuns(ctx, "x", time.Now(), lim, 5)
	if err != nil || len(cs) != 1 || cs[0].Run.DAG == "a" {
		t.Fatalf("after a tagged run ended: claimed %+v err %v; want one tagged run", cs, err)
	}
	// The global bound: 8 running, bound 8.
	lim.MaxConcurrentRuns = 8
	lim.TagLimits = nil
	if cs, wait, _ := sts[0].ClaimRuns(ctx, "x", time.Now(), lim, 5); len(cs) != 0 || wait != "2/2 runs of a active" && wait != "8/8 runs active (max_concurrent_runs)" {
		t.Fatalf("at the global bound: %d claimed, wait %q", len(cs), wait)
	}
}

// An instance whose heartbeat is older than the lease is reaped once, even
// by two reapers at once; its runs are settled as interrupted, re-queued
// when retry says so, and its later writes are fenced.
func testReapFencesTheDeadInstance(t *testing.T, h harness) {
	ctx := context.Background()
	sts := h.shared(t, 3)
	dead, a, b := sts[0], sts[1], sts[2]
	t0 := time.Now().Add(-time.Minute)
	for _, id := range []string{"dead", "a", "b"} {
		if err := dead.Register(ctx, store.Instance{ID: id, Host: "box", PID: 1, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, id := range []string{"a", "b"} {
		if err := a.Heartbeat(ctx, id, now); err != nil {
			t.Fatal(err)
		}
	}
	ids := enqueue(t, dead, "d", 6)
	cs, _, err := dead.ClaimRuns(ctx, "dead", t0, store.ClaimLimits{}, 6)
	if err != nil || len(cs) != 6 {
		t.Fatalf("claimed %d: %v", len(cs), err)
	}
	retry := func(r store.Run) bool { return r.ID%2 == 0 }
	var mu sync.Mutex
	var all []store.Interrupted
	var wg sync.WaitGroup
	for _, s := range []store.Interface{a, b} {
		self := map[store.Interface]string{a: "a", b: "b"}[s]
		wg.Go(func() {
			in, err := s.ReapDead(ctx, self, now, 30*time.Second, retry)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			all = append(all, in...)
			mu.Unlock()
		})
	}
	wg.Wait()
	requeued := 0
	seen := map[int64]bool{}
	for _, in := range all {
		if seen[in.Run.ID] {
			t.Fatalf("run %d reaped twice", in.Run.ID)
		}
		seen[in.Run.ID] = true
		if in.Requeued != 0 {
			requeued++
		}
	}
	if len(all) != 6 || requeued != 3 {
		t.Fatalf("reaped %d runs, re-queued %d; want 6 and 3", len(all), requeued)
	}
	if q, _ := a.QueuedCount(ctx, "d"); q != 3 {
		t.Fatalf("%d queued after the reap, want 3", q)
	}
	// The dead instance resumes: every write under its old claims is fenced.
	c := cs[0].Ref()
	if err := dead.PutClaimedAttempts(ctx, c, []store.Attempt{{RunID: c.RunID, Task: "t", Attempt: 1, State: api.TaskRunning}}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("fenced attempt: %v", err)
	}
	if err := dead.FinishClaimed(ctx, c, api.RunSuccess, "", time.Now(), nil); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("fenced finish: %v", err)
	}
	r, _ := a.Run(ctx, ids[0])
	if tasks, _ := a.Tasks(ctx, ids[0]); r.State != api.RunFailed || r.Error != store.InterruptedError || len(tasks[ids[0]]) != 0 {
		t.Fatalf("reaped run = %+v tasks %v", r, tasks)
	}
	insts, err := a.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, in := range insts {
		status[in.ID] = in.Status(now, 30*time.Second)
	}
	if status["dead"] != store.InstanceDead || status["a"] != store.InstanceLive || status["b"] != store.InstanceLive {
		t.Fatalf("statuses %v", status)
	}
	if again, err := b.ReapDead(ctx, "b", now, 30*time.Second, retry); err != nil || len(again) != 0 {
		t.Fatalf("second reap: %v %v", again, err)
	}
}

// ReleaseClaims settles only the releasing instance's runs.
func testReleaseClaimsTouchesOnlyOwnRuns(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	enqueue(t, s, "d", 4)
	mine, _, _ := s.ClaimRuns(ctx, "me", time.Now(), store.ClaimLimits{}, 2)
	theirs, _, _ := s.ClaimRuns(ctx, "them", time.Now(), store.ClaimLimits{}, 2)
	in, err := s.ReleaseClaims(ctx, "me", time.Now(), nil)
	if err != nil || len(in) != 2 || len(mine) != 2 || len(theirs) != 2 {
		t.Fatalf("released %v (%v)", in, err)
	}
	for _, c := range theirs {
		if r, _ := s.Run(ctx, c.Run.ID); r.State != api.RunRunning {
			t.Fatalf("another instance's run = %+v", r)
		}
		if err := s.PutClaimedAttempts(ctx, c.Ref(), []store.Attempt{{RunID: c.Run.ID, Task: "t", Attempt: 1, State: api.TaskSuccess}}); err != nil {
			t.Fatal(err)
		}
	}
}

func testInstancesRegisterAndHeartbeat(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	t0 := time.Unix(1_700_000_000, 0)
	for i, id := range []string{"i1", "i2"} {
		if err := s.Register(ctx, store.Instance{ID: id, Host: "box", PID: 100 + i, StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Heartbeat(ctx, "i1", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "i1", t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "ghost", t0); err == nil {
		t.Fatal("heartbeat of an unregistered instance accepted")
	}
	if err := s.Deregister(ctx, "i2", t0.Add(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "i1" || got[0].PID != 100 || got[0].Host != "box" ||
		!got[0].LastHeartbeat.Equal(t0.Add(10*time.Second)) || !got[0].StoppedAt.IsZero() ||
		got[1].ID != "i2" || !got[1].StoppedAt.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("instances = %+v", got)
	}
	if st := got[1].Status(t0.Add(21*time.Second), time.Minute); st != store.InstanceStopped {
		t.Fatalf("i2 status %q", st)
	}
	if st := got[0].Status(t0.Add(41*time.Second), 30*time.Second); st != store.InstanceDead {
		t.Fatalf("i1 status past its lease %q", st)
	}
}

// A claim returns each run as stored (now running under the instance,
// with its config and a token), reads past DAGs a limit blocks, and the
// fenced writes store every field of their task rows.
func testClaimedRunsAndTheirTaskRows(t *testing.T, h harness) {
	ctx := context.Background()
	s := h.open(t)
	enqueue(t, s, "a", 5) // the first page holds only a's runs
	cfg := []byte(`{"k":"v"}`)
	b, err := s.CreateRun(ctx, store.NewRun{DAG: "b", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	lim := store.ClaimLimits{DAG: func(n string) (store.DAGLimit, bool) {
		return store.DAGLimit{MaxActive: map[string]int{"a": 1}[n]}, true
	}}
	at := time.Unix(1_700_000_000, 123)
	cs, _, err := s.ClaimRuns(ctx, "i1", at, lim, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Run.DAG != "a" || cs[1].Run.ID != b {
		t.Fatalf("claimed %+v; want one run of a (its bound) and run %d of b", cs, b)
	}
	got := cs[1]
	if r := got.Run; r.State != api.RunRunning || r.Instance != "i1" || !r.StartedAt.Equal(at) || string(r.Config) != string(cfg) || got.Token == 0 {
		t.Fatalf("claimed run %+v token %d", r, got.Token)
	}
	t0, t1 := at.Add(time.Second), at.Add(2*time.Second)
	if err := s.PutClaimedAttempts(ctx, got.Ref(), []store.Attempt{
		{RunID: b, Task: "x", Attempt: 1, State: api.TaskRunning, StartedAt: t0},
		{RunID: b, Task: "y", Attempt: 1, State: api.TaskRunning, StartedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	settle := []store.Attempt{
		{RunID: b, Task: "x", Attempt: 1, State: api.TaskSuccess, StartedAt: t0, FinishedAt: t1, LogTail: "done", LogFile: "x.log"},
		{RunID: b, Task: "y", Attempt: 1, State: api.TaskFailed, StartedAt: t0, FinishedAt: t1, Error: "exit 1"},
	}
	if err := s.FinishClaimed(ctx, got.Ref(), api.RunFailed, "y failed", t1, settle); err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, b)
	if err != nil || r.State != api.RunFailed || r.Error != "y failed" || !r.FinishedAt.Equal(t1) {
		t.Fatalf("finished run %+v err %v", r, err)
	}
	tasks, err := s.Tasks(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	byTask := map[string]store.Attempt{}
	for _, a := range tasks[b] {
		byTask[a.Task] = a
	}
	for _, want := range settle {
		a := byTask[want.Task]
		if a.State != want.State || !a.StartedAt.Equal(want.StartedAt) || !a.FinishedAt.Equal(want.FinishedAt) ||
			a.Error != want.Error || a.LogTail != want.LogTail || a.LogFile != want.LogFile {
			t.Errorf("task %s stored as %+v, want %+v", want.Task, a, want)
		}
	}
	// Settled: the claim no longer holds.
	if err := s.PutClaimedAttempts(ctx, got.Ref(), settle[:1]); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write after the finish: %v, want ErrFenced", err)
	}
}

// testClaimedRunRecordsItsVersion: a run queued without a DAG version gets
// the one it runs, once; a recorded one stays; a settled claim writes
// nothing.
func testClaimedRunRecordsItsVersion(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	bare, err := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := s.CreateRun(ctx, store.NewRun{DAG: "d", DAGVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.ClaimRuns(ctx, "i", time.Now(), store.ClaimLimits{}, 2)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claimed %d: %v", len(cs), err)
	}
	for _, c := range cs {
		if err := s.SetClaimedVersion(ctx, c.Ref(), 5); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[int64]int{bare: 5, pinned: 2} {
		if r, err := s.Run(ctx, id); err != nil || r.DAGVersion != want {
			t.Fatalf("run %d has version %d (%v), want %d", id, r.DAGVersion, err, want)
		}
	}
	if err := s.FinishClaimed(ctx, cs[0].Ref(), api.RunSuccess, "", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClaimedVersion(ctx, cs[0].Ref(), 9); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("after the finish: %v, want ErrFenced", err)
	}
}
