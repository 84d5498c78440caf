package review

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
)

// A rejection's reason is kept with the item, survives a reread of the
// store, and reaches the read model and the item's history.
func TestRejectKeepsTheReason(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := setup(t, Config{StateDir: t.TempDir()})
	it, err := svc.StageArchive(ctx, []StaleReport{{Token: "t1", Name: "Old", Reason: "not run for 101 days"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reject(ctx, it.ID, "  finance still opens it\nevery quarter "); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Get(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	const want = "finance still opens it every quarter"
	if got.RejectReason != want {
		t.Errorf("stored reason %q, want %q", got.RejectReason, want)
	}
	last := got.History[len(got.History)-1]
	if last.State != api.ReviewRejected || !strings.Contains(last.Note, want) {
		t.Errorf("last history entry %+v does not carry the reason", last)
	}
	snap := got.Snapshot()
	if snap.RejectReason != want || len(snap.History) != len(got.History) || snap.History[len(snap.History)-1].Note != last.Note {
		t.Errorf("read model %+v lacks the reason or the history", snap)
	}
}
