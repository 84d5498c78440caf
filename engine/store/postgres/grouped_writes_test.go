package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
)

func openGrouped(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.Database(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestGroupedCreatesReturnEachCallsID: runs inserted by one statement get
// the ids of their own rows, and a run the server refuses fails alone.
func TestGroupedCreatesReturnEachCallsID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openGrouped(t)
	first, err := s.CreateRun(ctx, store.NewRun{DAG: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	var calls []*call[store.NewRun]
	for i := range 40 {
		nr := store.NewRun{
			DAG: fmt.Sprintf("d%02d", i), Trigger: store.TriggerManual, Priority: i % 3,
			QueuedAt: time.Unix(0, int64(1000+i)), External: i%2 == 0, DAGVersion: i,
		}
		if i%5 == 0 {
			nr.Config = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
		}
		if i%7 == 0 {
			nr.RetryOf = first
			nr.Skip = map[string]int64{"t": first}
		}
		if i == 13 {
			nr.RetryOf = 1 << 40 // no such run: the foreign key refuses it
		}
		calls = append(calls, &call[store.NewRun]{req: nr})
	}
	s.flushCreates(ctx, calls)
	for i, c := range calls {
		if i == 13 {
			if c.err == nil {
				t.Fatalf("run retrying a missing run: stored as %d, want an error", c.id)
			}
			continue
		}
		if c.err != nil {
			t.Fatalf("call %d: %v", i, c.err)
		}
		r, err := s.Run(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		nr := c.req
		if r.DAG != nr.DAG || r.Priority != nr.Priority || !r.QueuedAt.Equal(nr.QueuedAt) || r.DAGVersion != nr.DAGVersion ||
			r.RetryOf != nr.RetryOf || string(r.Config) != string(nr.Config) || len(r.Skip) != len(nr.Skip) || r.State != api.RunQueued {
			t.Fatalf("call %d got run %d = %+v, want the run of %+v", i, c.id, r, nr)
		}
	}
	var unadopted int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM runs WHERE NOT adopted").Scan(&unadopted); err != nil || unadopted != 20 {
		t.Fatalf("%d external runs stored (%v), want 20", unadopted, err)
	}
}

// TestGroupedClaimedWritesFenceEachRun: one statement carrying the writes
// of several claimed runs writes those whose claim holds and answers
// ErrFenced, writing nothing, for the one settled by another instance.
func TestGroupedClaimedWritesFenceEachRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openGrouped(t)
	for range 4 {
		if _, err := s.CreateRun(ctx, store.NewRun{DAG: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	cs, _, err := s.ClaimRuns(ctx, "i", time.Now(), store.ClaimLimits{}, 4)
	if err != nil || len(cs) != 4 {
		t.Fatalf("claimed %d runs (%v), want 4", len(cs), err)
	}
	// Another instance took the third run over: its claim token moved on.
	fenced := cs[2].Run.ID
	if _, err := s.pool.Exec(ctx, "UPDATE runs SET instance = 'j', claim = claim + 1 WHERE id = $1", fenced); err != nil {
		t.Fatal(err)
	}
	attempt := func(c store.Claim, st api.TaskState) []store.Attempt {
		return []store.Attempt{{RunID: c.Run.ID, Task: "t", Attempt: 1, State: st, StartedAt: time.Now()}}
	}
	var puts, finishes []*call[claimedWrite]
	for _, c := range cs {
		puts = append(puts, &call[claimedWrite]{req: claimedWrite{ref: c.Ref(), as: attempt(c, api.TaskRunning)}})
		finishes = append(finishes, &call[claimedWrite]{req: claimedWrite{ref: c.Ref(), as: attempt(c, api.TaskSuccess), state: api.RunSuccess, at: time.Now()}})
	}
	check := func(what string, calls []*call[claimedWrite]) {
		t.Helper()
		for _, c := range calls {
			if fence := c.req.ref.RunID == fenced; fence != errors.Is(c.err, store.ErrFenced) || !fence && c.err != nil {
				t.Fatalf("%s of run %d: err %v (fenced run %d)", what, c.req.ref.RunID, c.err, fenced)
			}
		}
	}
	s.flushPuts(ctx, puts)
	check("put", puts)
	s.flushFinishes(ctx, finishes)
	check("finish", finishes)
	for _, c := range cs {
		r, err := s.Run(ctx, c.Run.ID)
		if err != nil {
			t.Fatal(err)
		}
		as, err := s.Attempts(ctx, c.Run.ID, "t")
		if err != nil {
			t.Fatal(err)
		}
		if c.Run.ID == fenced {
			if r.State != api.RunRunning || len(as) != 0 {
				t.Fatalf("fenced run %d: %s with %d task rows, want running with none", r.ID, r.State, len(as))
			}
			continue
		}
		if r.State != api.RunSuccess || len(as) != 1 || as[0].State != api.TaskSuccess {
			t.Fatalf("run %d: %s with task rows %+v, want success with one successful task", r.ID, r.State, as)
		}
	}
}

// TestConcurrentHotPathShares: many runs taken concurrently through
// CreateRun, PutClaimedAttempts and FinishClaimed end right, with fewer
// statements than calls.
func TestConcurrentHotPathShares(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openGrouped(t)
	const n = 200
	type created struct {
		dag string
		id  int64
		err error
	}
	made := make(chan created, n)
	for i := range n {
		go func() {
			dag := fmt.Sprintf("d%d", i)
			id, err := s.CreateRun(ctx, store.NewRun{DAG: dag})
			made <- created{dag, id, err}
		}()
	}
	dagOf := map[int64]string{}
	for range n {
		c := <-made
		if c.err != nil {
			t.Fatal(c.err)
		}
		dagOf[c.id] = c.dag
	}
	if len(dagOf) != n {
		t.Fatalf("%d distinct ids for %d runs", len(dagOf), n)
	}
	errs := make(chan error, n)
	cs, _, err := s.ClaimRuns(ctx, "i", time.Now(), store.ClaimLimits{}, n)
	if err != nil || len(cs) != n {
		t.Fatalf("claimed %d (%v), want %d", len(cs), err, n)
	}
	for _, c := range cs {
		go func() {
			a := store.Attempt{RunID: c.Run.ID, Task: "t", Attempt: 1, State: api.TaskRunning, StartedAt: time.Now()}
			if err := s.PutClaimedAttempts(ctx, c.Ref(), []store.Attempt{a}); err != nil {
				errs <- err
				return
			}
			a.State, a.FinishedAt = api.TaskSuccess, time.Now()
			errs <- s.FinishClaimed(ctx, c.Ref(), api.RunSuccess, "", a.FinishedAt, []store.Attempt{a})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.dag FROM runs r JOIN task_attempts a ON a.run_id = r.id
		WHERE r.state = 'success' AND a.state = 'success' AND a.finished_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for rows.Next() {
		var id int64
		var dag string
		if err := rows.Scan(&id, &dag); err != nil {
			t.Fatal(err)
		}
		if dagOf[id] != dag {
			t.Fatalf("run %d is of %q, its CreateRun was for %q", id, dag, dagOf[id])
		}
		done++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if done != n {
		t.Fatalf("%d runs settled with their task, want %d", done, n)
	}
}
