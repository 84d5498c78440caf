package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// TestReplayAndResetOffsetsOnTheBinary: on the embedded broker, a failed
// batch run replayed from the command line runs the same records again
// with no offset moved; a reset of a running sensor is refused; paused,
// a dry run to a time changes nothing and the reset moves the group to the
// first record at or after that time.
func TestReplayAndResetOffsetsOnTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	broker, err := embedded.Start(embedded.Options{Topics: []string{"events"}, Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	conn := sensor.ConnConfig{Brokers: broker.Addrs()}
	brokers := "--kafka-brokers=" + strings.Join(broker.Addrs(), ",")
	produce := func(n int64) {
		t.Helper()
		if st, err := sensor.Produce(context.Background(), conn, sensor.ProduceOptions{Topic: "events", Count: n, KeyMode: sensor.KeySeq}); err != nil || st.Acked != n {
			t.Fatalf("produce: %+v %v", st, err)
		}
	}
	produce(3)
	// Record timestamps are milliseconds: what follows is stamped later.
	for last := time.Now().UnixMilli(); time.Now().UnixMilli() <= last+1; {
	}
	cut := time.Now()
	for time.Now().UnixMilli() <= cut.UnixMilli() {
	}
	produce(3)

	bin := buildSluice(t)
	dags, state, work := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "events", `{"sensors": [{"type": "kafka", "topic": "events", "max_batch_size": 2,
	  "max_tick_runtime": "200ms", "tick_interval": "50ms"}],
	 "nodes": [{"id": "copy", "type": "local", "config": {"command": "cat \"$SLUICE_BATCH_FILE\" > `+work+`/$SLUICE_RUN_ID; exit 1"}}]}`)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	logPath := filepath.Join(t.TempDir(), "engine.log")
	cmd := startBinary(t, bin, vars, logPath, "run", brokers)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	group := func() sensor.GroupOffsets {
		r, err := sensor.NewOffsetReader(conn)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		g, err := r.Read("sluice.events", []string{"events"})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	at := func(off int64) bool { g := group(); return len(g.Partitions) == 1 && g.Partitions[0].Committed == off }
	var batches []runRow
	enginetest.Eventually(t, 30*time.Second, func() bool {
		batches = batches[:0]
		for _, r := range listRuns(t, vars) {
			if r.Trigger == "sensor" && r.State.Finished() {
				batches = append(batches, r)
			}
		}
		return len(batches) == 3 && at(6)
	}, "three failed batch runs and offsets committed through 6")
	orig := batches[len(batches)-1] // the oldest

	// From here the broker notes every fetch, and any that asks for a
	// record before the committed offset: a replay reads none from Kafka.
	var fetches, rereads atomic.Int64
	broker.Cluster().ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fetches.Add(1)
		for _, tp := range req.(*kmsg.FetchRequest).Topics {
			for _, p := range tp.Partitions {
				if p.FetchOffset < 6 {
					rereads.Add(1)
				}
			}
		}
		return nil, nil, false // observed, then served as usual
	})
	code, out, errOut := sluiceCLI(t, bin, vars, "sensors", "replay", strconv.FormatInt(orig.ID, 10), "--reason", "lookup fixed")
	if code != exitOK || !strings.Contains(out, "a replay of run "+strconv.FormatInt(orig.ID, 10)+"'s batch "+orig.Batch) {
		t.Fatalf("replay: %d %q %s", code, out, errOut)
	}
	var id int64
	if _, err := fmt.Sscanf(out, "queued run %d", &id); err != nil {
		t.Fatalf("replay output %q: %v", out, err)
	}
	re := waitFinished(t, vars, id)
	if re.RerunOf != orig.ID || re.Batch != orig.Batch {
		t.Fatalf("replayed run %+v, want a re-run of %d carrying %s", re, orig.ID, orig.Batch)
	}
	a, _ := os.ReadFile(filepath.Join(work, strconv.FormatInt(orig.ID, 10)))
	b, _ := os.ReadFile(filepath.Join(work, strconv.FormatInt(id, 10)))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatalf("the replay read %q, the original %q", b, a)
	}
	if !at(6) {
		t.Fatalf("the replay moved the group: %+v", group())
	}
	seen := fetches.Load()
	enginetest.Eventually(t, 20*time.Second, func() bool { return fetches.Load() > seen }, "the sensor fetching again after the replay")
	if n := rereads.Load(); n != 0 {
		t.Fatalf("%d fetches asked for records before offset 6 during the replay", n)
	}

	reset := func(extra ...string) (int, string, string) {
		return sluiceCLI(t, bin, vars, append([]string{"sensors", "reset-offsets", "events", brokers}, extra...)...)
	}
	toTime := "--to-time=" + cut.UTC().Format(time.RFC3339Nano)
	if code, _, errOut := reset(toTime); code != exitFailed || !strings.Contains(errOut, "not paused") {
		t.Fatalf("reset of a running sensor: %d %s", code, errOut)
	}
	if code, _, errOut := sluiceCLI(t, bin, vars, "dags", "pause", "events"); code != exitOK {
		t.Fatalf("pause: %d %s", code, errOut)
	}
	enginetest.Eventually(t, 20*time.Second, func() bool { return group().Members == 0 }, "the paused sensor out of its group")
	code, out, errOut = reset(toTime, "--dry-run")
	if code != exitOK || !strings.Contains(out, "dry run: nothing changed") || !strings.Contains(out, "3 of them already in runs are trimmed") {
		t.Fatalf("dry run: %d %q %s", code, out, errOut)
	}
	if !strings.Contains(out, "events  0          6        →  3") {
		t.Errorf("dry-run table:\n%s", out)
	}
	if !at(6) {
		t.Fatalf("a dry run moved the group: %+v", group())
	}
	if code, out, errOut = reset(toTime, "--reason", "replay the afternoon"); code != exitOK || !strings.Contains(out, "committed") {
		t.Fatalf("reset: %d %q %s", code, out, errOut)
	}
	if !at(3) {
		t.Fatalf("after a reset to the time the group is at %+v, want 3", group())
	}
	code, out, _ = sluiceCLI(t, bin, vars, "audit")
	if code != exitOK || !strings.Contains(out, "replay batch") || strings.Count(out, "reset offsets") != 2 {
		t.Errorf("audit:\n%s", out)
	}
}
