package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// failingStore is the store contract with writes that fail on demand, as
// they do on a full disk.
type failingStore struct {
	store.Interface
	failClaim, failFirstWrite, failFinish atomic.Bool
	claimTries, writeTries, finishTries   atomic.Int32

	mu      sync.Mutex
	started []int64 // runs claimed, in order
}

var errDiskFull = fmt.Errorf("writing the database: %w", syscall.ENOSPC)

func (f *failingStore) ClaimRuns(ctx context.Context, instance string, at time.Time, lim store.ClaimLimits, max int) ([]store.Claim, string, error) {
	f.claimTries.Add(1)
	if f.failClaim.Load() {
		return nil, "", errDiskFull
	}
	claims, wait, err := f.Interface.ClaimRuns(ctx, instance, at, lim, max)
	f.mu.Lock()
	for _, c := range claims {
		f.started = append(f.started, c.Run.ID)
	}
	f.mu.Unlock()
	return claims, wait, err
}

func (f *failingStore) PutClaimedAttempts(ctx context.Context, c store.ClaimRef, as []store.Attempt) error {
	if f.failFirstWrite.Load() {
		f.writeTries.Add(1)
		return errDiskFull
	}
	return f.Interface.PutClaimedAttempts(ctx, c, as)
}

func (f *failingStore) FinishClaimed(ctx context.Context, c store.ClaimRef, state api.RunState, msg string, at time.Time, settle []store.Attempt) error {
	f.finishTries.Add(1)
	if f.failFinish.Load() {
		return errDiskFull
	}
	return f.Interface.FinishClaimed(ctx, c, state, msg, at, settle)
}

func (f *failingStore) starts() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.started)
}

func setupFailing(t *testing.T, tweak func(*Config)) (*harness, *failingStore) {
	t.Helper()
	var fs *failingStore
	h := setup(t, func(c *Config) {
		fs = &failingStore{Interface: c.Store}
		c.Store = fs
		c.StoreRetryInterval = 5 * time.Millisecond
		if tweak != nil {
			tweak(c)
		}
	})
	return h, fs
}

// TestFinishCommitRetriedUntilTheStoreTakesIt: a run whose final commit
// fails stays in flight, retried, with the outage in the snapshot; once
// the disk has room it ends with its real outcome, its task run once.
func TestFinishCommitRetriedUntilTheStoreTakesIt(t *testing.T) {
	t.Parallel()
	h, fs := setupFailing(t, nil)
	marks := filepath.Join(t.TempDir(), "executions")
	h.dags.add(t, "work", `{"nodes": [{"id": "once", "type": "local", "config": {"command": "echo ran >> `+marks+`"}}]}`)
	fs.failFinish.Store(true)
	h.start()
	id := h.enqueue("work", "")

	h.waitFor("final commit retried and the outage shown", func() bool {
		return fs.finishTries.Load() >= 3 && h.r.StoreHealth().Problem() == "store: disk full"
	})
	if run, err := h.st.Run(context.Background(), id); err != nil || run.State != api.RunRunning {
		t.Fatalf("while the disk is full the store has the run as %q (%v), want running", run.State, err)
	}
	if _, ok := h.snapshotRun(id); !ok {
		t.Fatal("the run left the snapshot while its end was not committed")
	}

	fs.failFinish.Store(false)
	run, _ := h.waitRun(id)
	if run.State != api.RunSuccess {
		t.Fatalf("run ended %q (%s), want success", run.State, run.Error)
	}
	if b, _ := os.ReadFile(marks); strings.Count(string(b), "ran") != 1 {
		t.Errorf("the task ran %d times, want once", strings.Count(string(b), "ran"))
	}
	h.waitFor("the outage cleared", func() bool { return h.r.StoreHealth() == api.StoreHealth{} })
}

// TestFailedStartKeepsQueueOrder: runs that cannot be claimed stay
// queued, in order, and start in that order once the store recovers.
func TestFailedStartKeepsQueueOrder(t *testing.T) {
	t.Parallel()
	h, fs := setupFailing(t, func(c *Config) { c.Limits = Limits{MaxConcurrentRuns: 1} })
	h.dags.add(t, "work", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	ids := []int64{h.enqueue("work", ""), h.enqueue("work", ""), h.enqueue("work", "")}
	fs.failClaim.Store(true)
	h.start()

	queuedIDs := func() []int64 {
		var out []int64
		for _, r := range h.r.Runs().Queued {
			out = append(out, r.ID)
		}
		return out
	}
	h.waitFor("claims retried", func() bool { return fs.claimTries.Load() >= 3 })
	if got := queuedIDs(); !slices.Equal(got, ids) {
		t.Fatalf("queue during the outage = %v, want %v", got, ids)
	}
	if p := h.r.StoreHealth().Problem(); p != "store: disk full" {
		t.Errorf("store health = %q, want store: disk full", p)
	}
	for _, id := range ids {
		if run, _ := h.st.Run(context.Background(), id); run.State != api.RunQueued {
			t.Errorf("run %d is %q in the store, want queued", id, run.State)
		}
	}

	fs.failClaim.Store(false)
	for _, id := range ids {
		if run, _ := h.waitRun(id); run.State != api.RunSuccess {
			t.Errorf("run %d ended %q (%s)", id, run.State, run.Error)
		}
	}
	if got := fs.starts(); !slices.Equal(got, ids) {
		t.Errorf("runs started in order %v, want %v", got, ids)
	}
}

// TestBatchWaitsWhenItsFilesCannotBeWritten: a Kafka batch run whose
// config and batch files cannot be written waits, no task started (its
// offsets are committed: failing it would lose the batch), and runs once
// they can.
func TestBatchWaitsWhenItsFilesCannotBeWritten(t *testing.T) {
	t.Parallel()
	h, _ := setupFailing(t, nil)
	out := filepath.Join(t.TempDir(), "seen")
	h.dags.add(t, "sink", `{"nodes": [{"id": "read", "type": "local", "config": {"command": "cat \"$SLUICE_BATCH_FILE\" > `+out+`"}}]}`)
	// The run files live under StateDir/runs: a file there makes every
	// write fail, as a full disk would.
	runsDir := filepath.Join(h.dir, "runs")
	if err := os.WriteFile(runsDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	id, err := h.r.Enqueue(context.Background(), store.NewRun{DAG: "sink", Trigger: "sensor",
		Batch: &store.Batch{Topic: "orders", Partition: 0, FirstOffset: 0, LastOffset: 1, Messages: []byte("{\"n\":1}\n{\"n\":2}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor("the outage shown", func() bool { return h.r.StoreHealth().Error != "" })
	if run, _ := h.st.Run(context.Background(), id); run.Finished() {
		t.Fatalf("the batch run ended %q (%s) while its files cannot be written, want it waiting", run.State, run.Error)
	}
	if tasks, _ := h.st.Tasks(context.Background(), id); len(tasks[id]) > 0 {
		t.Fatalf("tasks started without their files: %+v", tasks[id])
	}

	if err := os.Remove(runsDir); err != nil {
		t.Fatal(err)
	}
	if run, _ := h.waitRun(id); run.State != api.RunSuccess {
		t.Fatalf("the batch run ended %q (%s)", run.State, run.Error)
	}
	if b, _ := os.ReadFile(out); string(b) != "{\"n\":1}\n{\"n\":2}\n" {
		t.Errorf("the task read %q", b)
	}
}

// TestFirstWriteRetriedBeforeAnyTaskRuns: a claimed run whose first write
// fails starts no task until the store takes it, then runs once.
func TestFirstWriteRetriedBeforeAnyTaskRuns(t *testing.T) {
	t.Parallel()
	h, fs := setupFailing(t, nil)
	marks := filepath.Join(t.TempDir(), "executions")
	h.dags.add(t, "work", `{"nodes": [{"id": "once", "type": "local", "config": {"command": "echo ran >> `+marks+`"}}]}`)
	fs.failFirstWrite.Store(true)
	h.start()
	id := h.enqueue("work", "")
	h.waitFor("the start retried and the outage shown", func() bool {
		return fs.writeTries.Load() >= 3 && h.r.StoreHealth().DiskFull
	})
	if _, err := os.Stat(marks); err == nil {
		t.Fatal("a task ran before its start was recorded")
	}
	fs.failFirstWrite.Store(false)
	if run, _ := h.waitRun(id); run.State != api.RunSuccess {
		t.Fatalf("run ended %q (%s)", run.State, run.Error)
	}
	if b, _ := os.ReadFile(marks); strings.Count(string(b), "ran") != 1 {
		t.Errorf("the task ran %d times, want once", strings.Count(string(b), "ran"))
	}
}
