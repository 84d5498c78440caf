package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// Cancel is audited with its actor and target, the refusals too, with the
// engine's own message.
func TestCancelIsAudited(t *testing.T) {
	t.Parallel()
	e := startEngine(t, Config{}, newFakeSource(t, map[string]string{
		"slow": `{"nodes": [{"id": "s", "type": "sluice.sleep", "config": {"duration": "10m"}}]}`}))
	ctx := api.WithActor(context.Background(), "olga")
	id, err := e.Trigger(ctx, "slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Running first: a cancel that races the claim of the queued run is
	// refused with "not queued" today, a runner matter not tested here.
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		return slices.ContainsFunc(s.Runs.Running, func(r api.Run) bool { return r.ID == id })
	})
	if err := e.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, e, id); r.State != api.RunCancelled {
		t.Fatalf("run %d is %s after cancel", id, r.State)
	}
	unknown := e.Cancel(api.WithActor(context.Background(), "victor"), 424242)
	if unknown == nil {
		t.Fatal("cancelled an unknown run")
	}
	wantAudit(t, e, []api.AuditEntry{
		{Actor: "olga", Action: "trigger", Target: "dag slow", Outcome: fmt.Sprintf("ok: run %d", id)},
		{Actor: "olga", Action: "cancel", Target: fmt.Sprintf("run %d", id), Outcome: "ok"},
		{Actor: "victor", Action: "cancel", Target: "run 424242", Outcome: "error: " + unknown.Error()},
	})
}
