package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// batchDAG consumes topic; its task copies its batch to out/RUN_ID and
// exits with status exit.
func batchDAG(topic, out string, exit int) string {
	return fmt.Sprintf(`{"sensors": [{"type": "kafka", "topic": %q, "max_batch_size": 40,
  "max_tick_runtime": "200ms", "tick_interval": "50ms"}],
 "nodes": [{"id": "copy", "type": "local", "config": {"command": "cat \"$SLUICE_BATCH_FILE\" > %s/$SLUICE_RUN_ID; exit %d"}}]}`,
		topic, out, exit)
}

func startOnePartition(t *testing.T, topic string) sensor.ConnConfig {
	t.Helper()
	b, err := embedded.Start(embedded.Options{Topics: []string{topic}, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return sensor.ConnConfig{Brokers: b.Addrs(), ClientID: "engine-test"}
}

// sensorRuns are the runs the sensor of dagName created, and the records
// they carry.
func sensorRuns(t *testing.T, s *api.Snapshot, dagName string) (runs []api.Run, records int) {
	for _, r := range append(append(append([]api.Run(nil), s.Runs.Queued...), s.Runs.Running...), s.Runs.Finished...) {
		if r.DAG == dagName && r.Trigger == "sensor" {
			runs = append(runs, r)
			records += batchSize(t, r.Batch)
		}
	}
	return runs, records
}

func committed(t *testing.T, conn sensor.ConnConfig, group, topic string) sensor.GroupOffsets {
	t.Helper()
	r, err := sensor.NewOffsetReader(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g, err := r.Read(group, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A failed batch run replayed: a new run linked to it carries the same
// stored batch (its task reads the same records), the consumer group's
// offsets do not move and the sensor reads nothing again; two consoles
// replaying at once queue one run; a run without a batch is refused.
func TestReplayBatch(t *testing.T) {
	t.Parallel()
	conn := startOnePartition(t, "orders")
	out := t.TempDir()
	ctx := api.WithActor(context.Background(), "olga")
	if _, err := sensor.Produce(ctx, conn, sensor.ProduceOptions{Topic: "orders", Count: 5, KeyMode: sensor.KeySeq}); err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, Config{Kafka: conn}, newFakeSource(t, map[string]string{"orders": batchDAG("orders", out, 1)}))
	s := waitSnapshot(t, e, func(s *api.Snapshot) bool {
		runs, n := sensorRuns(t, s, "orders")
		for _, r := range runs {
			if !r.State.Finished() {
				return false
			}
		}
		return n == 5
	})
	runs, _ := sensorRuns(t, s, "orders")
	orig := runs[0]
	if orig.State != api.RunFailed {
		t.Fatalf("run %d is %s, want failed", orig.ID, orig.State)
	}
	enginetest.Eventually(t, 20*time.Second, func() bool {
		g := committed(t, conn, "sluice.orders", "orders")
		return len(g.Partitions) == 1 && g.Partitions[0].Committed == 5
	}, "offsets committed through 5")
	replayed := time.Now()

	var wg sync.WaitGroup
	ids, errs := make([]int64, 2), make([]error, 2)
	for i := range 2 {
		wg.Go(func() { ids[i], errs[i] = e.ReplayBatch(ctx, orig.ID, "bad lookup fixed") })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || ids[0] != ids[1] || ids[0] == 0 {
		t.Fatalf("two replays at once = %v %v, %v %v; want one new run", ids[0], errs[0], ids[1], errs[1])
	}
	s = waitSnapshot(t, e, func(s *api.Snapshot) bool { _, ok := finished(s, ids[0]); return ok })
	re, _ := finished(s, ids[0])
	if re.RerunOf != orig.ID || re.Batch != orig.Batch {
		t.Fatalf("replay = %+v, want a re-run of %d carrying %s", re, orig.ID, orig.Batch)
	}
	a, errA := os.ReadFile(filepath.Join(out, fmt.Sprint(orig.ID)))
	b, errB := os.ReadFile(filepath.Join(out, fmt.Sprint(re.ID)))
	if errA != nil || errB != nil || len(a) == 0 || string(a) != string(b) {
		t.Fatalf("the replay's task read %q (%v), the original's %q (%v)", b, errB, a, errA)
	}
	stored, err := e.Store().Run(ctx, re.ID)
	first, err2 := e.Store().Run(ctx, orig.ID)
	if err != nil || err2 != nil || stored.BatchID == 0 || stored.BatchID != first.BatchID {
		t.Fatalf("stored replay %+v (%v), original %+v (%v): not the original's batch", stored, err, first, err2)
	}
	if g := committed(t, conn, "sluice.orders", "orders"); g.Partitions[0].Committed != 5 {
		t.Errorf("the replay moved the group's offset to %d", g.Partitions[0].Committed)
	}
	if after, _ := sensorRuns(t, e.Snapshot(), "orders"); len(after) != len(runs) {
		t.Errorf("%d sensor runs after the replay, %d before", len(after), len(runs))
	}
	if n := messagesSince(e, replayed); n != 0 {
		t.Errorf("the sensor read %d records during the replay", n)
	}

	manual, err := e.Trigger(ctx, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, e, func(s *api.Snapshot) bool { _, ok := finished(s, manual); return ok })
	if _, err := e.ReplayBatch(ctx, manual, ""); !errors.Is(err, api.ErrConflict) || !strings.Contains(err.Error(), "carries no batch") {
		t.Errorf("replaying a run without a batch: %v", err)
	}
	entries, err := e.AuditLog(ctx, api.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, en := range entries {
		if en.Action == "replay batch" && en.Target == fmt.Sprintf("run %d", orig.ID) {
			if en.Actor != "olga" || en.Reason != "bad lookup fixed" {
				t.Errorf("audit entry %+v", en)
			}
			outcomes = append(outcomes, strings.SplitN(en.Outcome, ":", 2)[0])
		}
	}
	if len(outcomes) != 2 || !(outcomes[0] == "ok" && outcomes[1] == "unchanged" || outcomes[0] == "unchanged" && outcomes[1] == "ok") {
		t.Errorf("audit outcomes %v, want one ok and one unchanged", outcomes)
	}
}

// messagesSince sums the records the sensors' ticks that started at or
// after since read.
func messagesSince(e *Engine, since time.Time) (n int) {
	for _, s := range e.Snapshot().Sensors {
		for _, tk := range s.Ticks {
			if !tk.Start.Before(since) {
				n += tk.Messages
			}
		}
	}
	return n
}

// Resetting a sensor's offsets: refused while the sensor runs; a dry run
// previews without moving anything; paused, a reset backwards moves the
// group and, on resume, what runs already carry is trimmed (no new run);
// with AllowReprocess the released records go into new runs.
func TestResetOffsetsOnARunningEngine(t *testing.T) {
	t.Parallel()
	conn := startOnePartition(t, "events")
	out := t.TempDir()
	ctx := api.WithActor(context.Background(), "ivan")
	if _, err := sensor.Produce(ctx, conn, sensor.ProduceOptions{Topic: "events", Count: 6, KeyMode: sensor.KeySeq}); err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, Config{Kafka: conn}, newFakeSource(t, map[string]string{"events": batchDAG("events", out, 0)}))
	waitSnapshot(t, e, func(s *api.Snapshot) bool { _, n := sensorRuns(t, s, "events"); return n == 6 })
	at := func(want int64) func() bool {
		return func() bool {
			g := committed(t, conn, "sluice.events", "events")
			return len(g.Partitions) == 1 && g.Partitions[0].Committed == want
		}
	}
	enginetest.Eventually(t, 20*time.Second, at(6), "offsets committed through 6")

	req := api.ResetOffsetsRequest{DAG: "events", To: api.ToEarliest, Reason: "reload after the schema fix"}
	if _, err := e.ResetOffsets(ctx, req); !errors.Is(err, ErrSensorNotPaused) {
		t.Fatalf("reset of a running sensor: %v, want ErrSensorNotPaused", err)
	}
	dry := req
	dry.DryRun = true
	plan, err := e.ResetOffsets(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	want := api.OffsetChange{Topic: "events", Partition: 0, Current: 6, New: 0, Reread: 6, Carried: 6}
	if plan.Group != "sluice.events" || len(plan.Partitions) != 1 || plan.Partitions[0] != want {
		t.Fatalf("dry-run plan %+v, want %+v", plan, want)
	}
	if !at(6)() {
		t.Fatal("a dry run moved the offsets")
	}

	pauseAndEmpty := func() {
		t.Helper()
		if err := e.PauseDAG(ctx, "events", true, ""); err != nil {
			t.Fatal(err)
		}
		enginetest.Eventually(t, 20*time.Second, func() bool {
			return committed(t, conn, "sluice.events", "events").Members == 0
		}, "the paused sensor out of its group")
	}
	pauseAndEmpty()
	if plan, err = e.ResetOffsets(ctx, req); err != nil {
		t.Fatal(err)
	}
	if !at(0)() || plan.Released != 0 {
		t.Fatalf("after the reset to earliest: %+v, offsets %+v", plan, committed(t, conn, "sluice.events", "events"))
	}
	if err := e.PauseDAG(ctx, "events", false, ""); err != nil {
		t.Fatal(err)
	}
	// Read again and trimmed: the group is back at 6, no run is new.
	enginetest.Eventually(t, 20*time.Second, at(6), "the resumed sensor past what runs carry")
	if runs, n := sensorRuns(t, e.Snapshot(), "events"); n != 6 {
		t.Fatalf("runs %v carry %d records after a trimmed re-read, want 6", runs, n)
	}

	pauseAndEmpty()
	reprocess := api.ResetOffsetsRequest{DAG: "events", To: api.ToOffset, Offset: map[int32]int64{0: 2}, AllowReprocess: true}
	if plan, err = e.ResetOffsets(ctx, reprocess); err != nil {
		t.Fatal(err)
	}
	if plan.Released == 0 || plan.Partitions[0].Reread != 4 {
		t.Fatalf("reprocessing plan %+v", plan)
	}
	if err := e.PauseDAG(ctx, "events", false, ""); err != nil {
		t.Fatal(err)
	}
	// Offsets 2–5 go into new runs.
	waitSnapshot(t, e, func(s *api.Snapshot) bool { _, n := sensorRuns(t, s, "events"); return n == 10 })

	entries, err := e.AuditLog(ctx, api.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var resets []string
	for _, en := range entries {
		if en.Action == "reset offsets" && en.Actor == "ivan" {
			resets = append(resets, en.Reason+" → "+en.Outcome)
		}
	}
	if len(resets) != 3 || !strings.Contains(resets[2], "error") || !strings.Contains(resets[1], "to earliest: reload after the schema fix → ok") ||
		!strings.Contains(resets[0], "to offsets 0:2, reprocessing allowed → ok") {
		t.Errorf("audited resets (newest first): %q", resets)
	}
}
