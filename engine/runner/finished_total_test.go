package runner

import (
	"context"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// The snapshot bounds the finished runs it carries but counts them all,
// across a restart, so the console can say "latest 2 of 3".
func TestFinishedTotalCountsBeyondTheBound(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.FinishedKept = 2 })
	h.dags.add(t, "quick", shellDAG(map[string]string{"a": "true"}, nil, ""))
	h.start()
	for range 3 {
		h.waitRun(h.enqueue("quick", ""))
	}
	h.waitFor("three finished runs in the snapshot", func() bool { return h.r.Runs().FinishedTotal == 3 })
	if runs := h.r.Runs(); len(runs.Finished) != 2 {
		t.Fatalf("the snapshot carries %d finished runs, want the bound 2", len(runs.Finished))
	}
	h.r.Stop()

	// A new runner over the same store counts what the store holds.
	again, err := New(Config{Store: h.st, DAGs: h.dags, StateDir: h.dir, FinishedKept: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	runs := again.Runs()
	if runs.FinishedTotal != 3 || len(runs.Finished) != 2 {
		t.Errorf("after a restart: %d finished carried of %d, want 2 of 3", len(runs.Finished), runs.FinishedTotal)
	}
	for _, r := range runs.Finished {
		if r.State != api.RunSuccess {
			t.Errorf("run #%d is %s", r.ID, r.State)
		}
	}
}
