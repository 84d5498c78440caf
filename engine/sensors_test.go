package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/sensor/embedded"
)

// A DAG whose sensor consumes the test topic; its task counts the batch
// file's lines.
const sensedDAG = `{"sensors": [{"type": "kafka", "topic": "clicks", "max_batch_size": 40,
  "max_tick_runtime": "300ms", "tick_interval": "100ms"}],
 "nodes": [{"id": "count", "type": "local", "config": {"command": "wc -l < \"$SLUICE_BATCH_FILE\""}}]}`

func startBroker(t *testing.T) sensor.ConnConfig {
	t.Helper()
	b, err := embedded.Start(embedded.Options{Topics: []string{"clicks"}, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return sensor.ConnConfig{Brokers: b.Addrs(), ClientID: "engine-test"}
}

// batchSize reads "topic/partition/first-last".
func batchSize(t *testing.T, key string) int {
	t.Helper()
	i := strings.LastIndexByte(key, '/')
	first, last, ok := strings.Cut(key[i+1:], "-")
	a, err1 := strconv.Atoi(first)
	b, err2 := strconv.Atoi(last)
	if i < 0 || !ok || err1 != nil || err2 != nil {
		t.Fatalf("batch key %q", key)
	}
	return b - a + 1
}

func sensorOf(s *api.Snapshot, dagName string) (api.Sensor, bool) {
	for _, sn := range s.Sensors {
		if sn.DAG == dagName {
			return sn, true
		}
	}
	return api.Sensor{}, false
}

// The sensor wired into the engine: every produced message reaches a run
// carrying it, the runs' tasks read their batch, the snapshot shows the
// ticks and the lag, and pausing stops the ticks from pulling.
func TestSensorsRunBatches(t *testing.T) {
	t.Parallel()
	conn := startBroker(t)
	const produced = 200
	if st, err := sensor.Produce(context.Background(), conn, sensor.ProduceOptions{Topic: "clicks", Count: produced, KeyMode: sensor.KeySeq}); err != nil || st.Acked != produced {
		t.Fatalf("produce: %+v %v", st, err)
	}
	e := startEngine(t, Config{Kafka: conn, SensorLag: sensor.LagOptions{Interval: 100 * time.Millisecond}},
		newFakeSource(t, map[string]string{"clicks": sensedDAG}))

	s := waitSnapshot(t, e, func(s *api.Snapshot) bool {
		n := 0
		for _, r := range s.Runs.Finished {
			if r.DAG == "clicks" && r.State == api.RunSuccess {
				n += batchSize(t, r.Batch)
			}
		}
		sn, _ := sensorOf(s, "clicks")
		return n == produced && sn.Lag.TotalLag == 0 && len(sn.Lag.Partitions) == 2 && !sn.Lag.At.IsZero()
	})
	runs, messages := 0, 0
	for _, r := range s.Runs.Finished {
		if r.DAG != "clicks" {
			continue
		}
		runs++
		if r.Trigger != "sensor" {
			t.Errorf("run %d trigger %q", r.ID, r.Trigger)
		}
		if got := strings.TrimSpace(r.Tasks[0].LogTail); got != strconv.Itoa(batchSize(t, r.Batch)) {
			t.Errorf("run %d (%s): the task counted %q lines", r.ID, r.Batch, got)
		}
	}
	sn, ok := sensorOf(s, "clicks")
	if !ok || sn.Group != "sluice.clicks" || sn.Error != "" {
		t.Fatalf("sensor %+v", sn)
	}
	for _, tk := range sn.Ticks {
		messages += tk.Messages
	}
	if runs < produced/40 || messages != produced {
		t.Errorf("%d runs, ticks counted %d messages; want ≥ %d runs and %d messages", runs, messages, produced/40, produced)
	}

	// Paused, the sensor leaves new messages in Kafka: the lag shows them
	// and no run carries them until it resumes.
	ctx := context.Background()
	if err := e.PauseSensor(api.WithActor(ctx, "alice"), "clicks", 0, true); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		sn, _ := sensorOf(s, "clicks")
		return sn.Paused && sn.Status == api.SensorPaused && sn.PausedBy == "alice"
	})
	if _, err := sensor.Produce(ctx, conn, sensor.ProduceOptions{Topic: "clicks", Count: 50}); err != nil {
		t.Fatal(err)
	}
	consumed := func(s *api.Snapshot) (n int) {
		for _, r := range s.Runs.Finished {
			if r.DAG == "clicks" {
				n += batchSize(t, r.Batch)
			}
		}
		for _, r := range append(s.Runs.Queued, s.Runs.Running...) {
			if r.DAG == "clicks" {
				n += batchSize(t, r.Batch)
			}
		}
		return n
	}
	s = waitSnapshot(t, e, func(s *api.Snapshot) bool {
		sn, _ := sensorOf(s, "clicks")
		return sn.Lag.TotalLag == 50
	})
	if n := consumed(s); n != produced {
		t.Errorf("a paused sensor consumed: runs carry %d messages, want %d", n, produced)
	}
	if err := e.PauseSensor(ctx, "clicks", 0, false); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		sn, _ := sensorOf(s, "clicks")
		return !sn.Paused && consumed(s) == produced+50
	})
	if err := e.PauseSensor(ctx, "clicks", 7, true); err == nil {
		t.Error("paused a sensor the DAG does not have")
	}
}

// Without brokers the sensor is listed with the reason it does not run;
// a DAG added later gets its sensor on the loader's change signal.
func TestSensorsFollowTheRegistry(t *testing.T) {
	t.Parallel()
	src := newFakeSource(t, map[string]string{"first": sensedDAG})
	e := startEngine(t, Config{}, src)
	s := waitSnapshot(t, e, func(s *api.Snapshot) bool { return len(s.Sensors) == 1 })
	if sn := s.Sensors[0]; sn.DAG != "first" || sn.Status != api.SensorError || !strings.Contains(sn.Error, "no kafka brokers configured") {
		t.Errorf("sensor without brokers: %+v", sn)
	}

	def, err := dag.Parse("second.json", []byte(sensedDAG), dag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.defs["second"] = def
	src.mu.Unlock()
	src.changes <- struct{}{}
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		_, ok := sensorOf(s, "second")
		return ok && len(s.Sensors) == 2
	})

	src.mu.Lock()
	delete(src.defs, "first")
	src.mu.Unlock()
	src.changes <- struct{}{}
	waitSnapshot(t, e, func(s *api.Snapshot) bool {
		_, ok := sensorOf(s, "first")
		return !ok && len(s.Sensors) == 1
	})
}
