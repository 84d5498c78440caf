package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

func runIn(runs []api.Run, id int64) (api.Run, bool) {
	for _, r := range runs {
		if r.ID == id {
			return r, true
		}
	}
	return api.Run{}, false
}

// A console attached to instance B sees what instance A does — a run A
// runs, its end, a run triggered on A, a review item changed elsewhere —
// within the 1 s bound, through B's snapshot and events.
func TestConsoleOnOneInstanceSeesTheOthers(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	def, _ := json.Marshal(map[string]any{"nodes": []any{
		map[string]any{"id": "wait", "type": "local", "config": map[string]any{"command": []string{"sh", "-c",
			"while [ ! -e " + release + " ]; do sleep 0.05; done"}}},
		map[string]any{"id": "after", "type": "sluice.noop", "config": map[string]any{}, "depends_on": []string{"wait"}},
	}})
	files := map[string]string{"hold": string(def), "quick": noopDAG}
	cfg := func() Config {
		return Config{Store: url, StateDir: t.TempDir(), Lease: 5 * time.Second, PollInterval: 100 * time.Millisecond}
	}
	a := startEngine(t, cfg(), newFakeSource(t, files))
	ctx := context.Background()
	held, err := a.Trigger(ctx, "hold", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, a, func(s *api.Snapshot) bool { _, ok := runIn(s.Runs.Running, held); return ok })

	// B starts while A runs the run: B's runner never had it.
	b := startEngine(t, cfg(), newFakeSource(t, files))
	waitSnapshotWithin(t, b, time.Second, "A's running run on B", func(s *api.Snapshot) bool {
		r, ok := runIn(s.Runs.Running, held)
		return ok && r.Total == 2 && r.Tasks[0].ID == "wait" && r.Tasks[0].State == api.TaskRunning && r.Tasks[1].State == api.TaskPending
	})
	if s := b.Snapshot(); s.Instances != 2 {
		t.Errorf("B counts %d live instances, want 2", s.Instances)
	}

	// The run ends on A: B shows the end within the bound of the store
	// saying so.
	st, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var onA store.Run
	if !enginetest.Poll(20*time.Second, func() bool {
		onA, err = st.Run(ctx, held)
		if err != nil {
			t.Fatal(err)
		}
		return onA.Finished()
	}) {
		t.Fatalf("run %d did not finish on A: %+v", held, onA)
	}
	start := time.Now()
	waitSnapshotWithin(t, b, time.Second, "the end of A's run on B", func(s *api.Snapshot) bool {
		r, ok := runIn(s.Runs.Finished, held)
		_, still := runIn(s.Runs.Running, held)
		return ok && !still && r.State == api.RunSuccess && r.Done == 2
	})
	t.Logf("A's run finished → on B's screen in %s", time.Since(start))

	// A run triggered on A appears on B, whichever instance runs it.
	quick, err := a.Trigger(ctx, "quick", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitSnapshotWithin(t, b, time.Second, "a run triggered on A, on B", func(s *api.Snapshot) bool {
		for _, runs := range [][]api.Run{s.Runs.Queued, s.Runs.Running, s.Runs.Finished} {
			if _, ok := runIn(runs, quick); ok {
				return true
			}
		}
		return false
	})

	// A review item changed by another instance reaches B's console.
	now := time.Now()
	rec := &store.ReviewRecord{Kind: "deprecate", State: "staged", Branch: "sluice/x", Fingerprint: "fp",
		Data: []byte(`{"Title":"from elsewhere"}`), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateReview(ctx, rec); err != nil {
		t.Fatal(err)
	}
	waitSnapshotWithin(t, b, time.Second, "a review item staged elsewhere, on B", func(s *api.Snapshot) bool {
		for _, r := range s.Reviews {
			if r.ID == rec.ID && r.Title == "from elsewhere" {
				return true
			}
		}
		return false
	})
}
