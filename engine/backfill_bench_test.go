package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// BenchmarkBackfill10kFires is `sluice backfill` of 10,000 fire times (a
// minutely schedule over 10,000 minutes) with nothing done yet: the plan
// from the stored DAG's schedule, the runs by fire time, and every run
// queued in the store as one backfill.
func BenchmarkBackfill10kFires(b *testing.B) {
	ctx := context.Background()
	content := []byte(`{"schedule": "* * * * *", "nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	sum := sha256.Sum256(content)
	from := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		st, err := store.OpenDir(ctx, dir, store.Options{Synchronous: store.SyncNormal})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.RecordDAGVersions(ctx, []api.DAGVersion{{DAG: "minutely", SHA256: hex.EncodeToString(sum[:]),
			Source: "minutely.json", Content: content}}, 0); err != nil {
			b.Fatal(err)
		}
		st.Close()
		e, err := Open(ctx, Options{Offline: true, Config: Config{StateDir: dir, Synchronous: store.SyncNormal}})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		plan, err := e.Backfill(ctx, api.BackfillRequest{DAG: "minutely", From: from, To: from.Add(9999 * time.Minute)})
		b.StopTimer()
		if err != nil || plan.Backfill.Total != 10_000 || plan.Backfill.Queued != 10_000 {
			b.Fatalf("plan = %+v, %v", plan.Backfill, err)
		}
		e.Close()
		b.StartTimer()
	}
}
