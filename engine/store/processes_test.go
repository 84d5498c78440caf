package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestTaskProcessesRecordedUntilClearedOrRecovered(t *testing.T) {
	t.Parallel()
	s := setup(t)
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	running, err := s.CreateRun(ctx, NewRun{DAG: "etl", QueuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := s.CreateRun(ctx, NewRun{DAG: "etl", QueuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, running, t0, Attempt{RunID: running, Task: "a", Attempt: 1, State: "running", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	a := TaskProcess{RunID: running, Task: "a", Attempt: 1, PGID: 4242, StartTicks: 777}
	b := TaskProcess{RunID: running, Task: "b", Attempt: 2, PGID: 4343, StartTicks: 888}
	stale := TaskProcess{RunID: queued, Task: "x", Attempt: 1, PGID: 4444, StartTicks: 999}
	for _, p := range []TaskProcess{a, b, stale} {
		if err := s.RecordProcess(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RunningProcesses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Only runs marked running can have left processes behind.
	if want := []TaskProcess{a, b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("RunningProcesses = %+v, want %+v", got, want)
	}

	if err := s.ClearProcess(ctx, running, "b", 2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.RunningProcesses(ctx)
	if want := []TaskProcess{a}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after clearing b: %+v, want %+v", got, want)
	}

	if _, err := s.Recover(ctx, t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.RunProcesses(ctx, running); err != nil || len(ps) != 0 {
		t.Fatalf("process rows of the recovered run: %+v, %v; want none", ps, err)
	}
	if ps, err := s.RunProcesses(ctx, queued); err != nil || !reflect.DeepEqual(ps, []TaskProcess{stale}) {
		t.Fatalf("process rows of the queued run: %+v, %v; want %+v", ps, err, stale)
	}
}
