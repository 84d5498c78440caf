package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

// instances opens n stores on one fresh database: n processes' pools.
func instances(t *testing.T, n int) []*postgres.Store {
	t.Helper()
	url := pgtest.Database(t)
	out := make([]*postgres.Store, n)
	for i := range out {
		s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

func enqueue(t *testing.T, s store.Interface, dag string, n int) {
	t.Helper()
	for range n {
		if _, err := s.CreateRun(context.Background(), store.NewRun{DAG: dag}); err != nil {
			t.Fatal(err)
		}
	}
}

// claimAll has every instance claim with several workers until nothing is
// left, and returns each claim by run id, failing on a run taken twice.
func claimAll(t *testing.T, insts []*postgres.Store, workers int, lim postgres.Limits) map[int64]postgres.Claim {
	t.Helper()
	var mu sync.Mutex
	got := map[int64]postgres.Claim{}
	var wg sync.WaitGroup
	for i, s := range insts {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("inst-%d", i)
				for {
					c, ok, _, err := s.ClaimNext(context.Background(), id, time.Now(), lim)
					if err != nil {
						t.Errorf("instance %d worker %d: %v", i, w, err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					if prev, dup := got[c.Run.ID]; dup {
						t.Errorf("run %d claimed twice: by %s and %s", c.Run.ID, prev.Instance, c.Instance)
					}
					got[c.Run.ID] = c
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return got
}

func TestConcurrentClaimersNeverTakeOneRunTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	insts := instances(t, 3)
	const n = 300
	enqueue(t, insts[0], "d", n)
	got := claimAll(t, insts, 4, postgres.Limits{})
	if len(got) != n {
		t.Fatalf("claimed %d runs, want %d", len(got), n)
	}
	by := map[string]int{}
	for id, c := range got {
		r, err := insts[1].Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != api.RunRunning || r.StartedAt.IsZero() || c.Token != 1 || c.Run.State != api.RunRunning {
			t.Fatalf("claimed run %d = %+v (token %d)", id, r, c.Token)
		}
		by[c.Instance]++
	}
	if q, _ := insts[2].QueuedCount(ctx, ""); q != 0 {
		t.Fatalf("%d runs left queued", q)
	}
	t.Logf("claims by instance: %v", by)
}

func TestClaimOrderIsPriorityThenAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := instances(t, 1)[0]
	low, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	high, _ := s.CreateRun(ctx, store.NewRun{DAG: "d", Priority: 5})
	low2, _ := s.CreateRun(ctx, store.NewRun{DAG: "d"})
	for _, want := range []int64{high, low, low2} {
		c, ok, _, err := s.ClaimNext(ctx, "i", time.Now(), postgres.Limits{})
		if err != nil || !ok || c.Run.ID != want {
			t.Fatalf("claimed %d (ok %v, %v), want %d", c.Run.ID, ok, err, want)
		}
	}
	if _, ok, wait, err := s.ClaimNext(ctx, "i", time.Now(), postgres.Limits{}); ok || wait != "" || err != nil {
		t.Fatalf("empty queue: ok %v wait %q err %v", ok, wait, err)
	}
}

func TestGlobalLimitsHoldAcrossInstances(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	insts := instances(t, 3)
	enqueue(t, insts[0], "a", 20)
	enqueue(t, insts[0], "b", 10)
	lim := postgres.Limits{MaxConcurrentRuns: 7, MaxActiveRuns: map[string]int{"a": 2}}
	got := claimAll(t, insts, 3, lim)
	perDAG := map[string]int{}
	for _, c := range got {
		perDAG[c.Run.DAG]++
	}
	if len(got) != 7 || perDAG["a"] != 2 || perDAG["b"] != 5 {
		t.Fatalf("claimed %d runs %v; want 7: a 2 (its bound), b 5", len(got), perDAG)
	}
	if _, ok, wait, _ := insts[1].ClaimNext(ctx, "x", time.Now(), lim); ok || wait != postgres.WaitMaxConcurrentRuns {
		t.Fatalf("at the global bound: ok %v wait %q", ok, wait)
	}
	// Freeing one b slot lets a b run in, never an a run.
	for id, c := range got {
		if c.Run.DAG == "b" {
			if err := insts[2].FinishClaimed(ctx, c, api.RunSuccess, "", time.Now(), nil); err != nil {
				t.Fatal(err)
			}
			delete(got, id)
			break
		}
	}
	c, ok, _, err := insts[1].ClaimNext(ctx, "x", time.Now(), lim)
	if err != nil || !ok || c.Run.DAG != "b" {
		t.Fatalf("after a b run ended: claimed %+v ok %v err %v; want a b run", c.Run, ok, err)
	}
	// Only a's runs left queued once b drains: the DAG bound is the reason.
	lim.MaxConcurrentRuns = 0
	claimAll(t, insts, 1, lim)
	if _, ok, wait, _ := insts[0].ClaimNext(ctx, "x", time.Now(), lim); ok || wait != postgres.WaitMaxActiveRuns {
		t.Fatalf("only bounded a runs queued: ok %v wait %q", ok, wait)
	}
	if n, _ := insts[0].QueuedCount(ctx, "a"); n != 18 {
		t.Fatalf("%d a runs queued, want 18", n)
	}
}

// An instance that lost its run (another took it over) cannot settle it.
func TestClaimFencesTheLosingInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	insts := instances(t, 2)
	a, b := insts[0], insts[1]
	enqueue(t, a, "d", 1)
	ca, ok, _, err := a.ClaimNext(ctx, "a", time.Now(), postgres.Limits{})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// What the take-over will do: put the run back in the queue.
	if _, err := b.Pool().Exec(ctx, "UPDATE runs SET state = 'queued' WHERE id = $1", ca.Run.ID); err != nil {
		t.Fatal(err)
	}
	cb, ok, _, err := b.ClaimNext(ctx, "b", time.Now(), postgres.Limits{})
	if err != nil || !ok || cb.Run.ID != ca.Run.ID || cb.Token != ca.Token+1 {
		t.Fatalf("take-over claim %+v ok %v err %v", cb, ok, err)
	}
	settle := []store.Attempt{{RunID: ca.Run.ID, Task: "t", State: "success"}}
	if err := a.FinishClaimed(ctx, ca, api.RunFailed, "stale", time.Now(), settle); !errors.Is(err, postgres.ErrFenced) {
		t.Fatalf("stale instance's finish: %v, want ErrFenced", err)
	}
	if tasks, _ := a.Tasks(ctx, ca.Run.ID); len(tasks[ca.Run.ID]) != 0 {
		t.Fatalf("fenced finish wrote task rows %+v", tasks)
	}
	if err := b.FinishClaimed(ctx, cb, api.RunSuccess, "", time.Now(), settle); err != nil {
		t.Fatal(err)
	}
	r, _ := a.Run(ctx, ca.Run.ID)
	if r.State != api.RunSuccess {
		t.Fatalf("run = %+v, want b's success", r)
	}
	if err := b.FinishClaimed(ctx, cb, api.RunFailed, "", time.Now(), nil); !errors.Is(err, postgres.ErrFenced) {
		t.Fatalf("finishing a finished run: %v, want ErrFenced", err)
	}
}

func TestInstancesRegisterAndHeartbeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := instances(t, 1)[0]
	t0 := time.Unix(1_700_000_000, 0)
	for i, id := range []string{"i1", "i2"} {
		if err := s.Register(ctx, postgres.Instance{ID: id, Host: "box", PID: 100 + i, StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
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
}
