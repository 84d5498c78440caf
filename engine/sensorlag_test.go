package engine

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/store"
)

// lagStore records what the recorder writes; fail makes the next write
// fail.
type lagStore struct {
	writes [][]store.SensorLag
	fail   bool
}

func (s *lagStore) RecordSensorLags(_ context.Context, ls []store.SensorLag) error {
	if s.fail {
		s.fail = false
		return errors.New("database is locked")
	}
	s.writes = append(s.writes, ls)
	return nil
}

func (s *lagStore) SensorLags(context.Context) ([]store.SensorLag, error) { return nil, nil }

// The recorder writes a reading when it changes, not when only its time
// does — until lagRecordRefresh has passed and the lag monitor has read
// again; a sensor without a reading yet has lag -1, not 0 OK; a failed
// write is tried again on the next period.
func TestLagRecorderWritesChangesAndRefreshes(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	etl := api.Sensor{DAG: "etl", Index: 0, Status: api.SensorRunning,
		Lag: api.GroupLag{Status: api.LagOK, TotalLag: 5, Reason: "lag fell", At: t0}}
	broken := api.Sensor{DAG: "load", Index: 1, Status: api.SensorError, Error: "no kafka brokers configured"}
	sensors := []api.Sensor{etl, broken}
	st := &lagStore{}
	r := newLagRecorder(st, func() []api.Sensor { return sensors }, func() string { return "box-1" }, time.Second, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	wrote := func(step string, want ...string) {
		t.Helper()
		var got []string
		if len(st.writes) > 0 {
			for _, l := range st.writes[len(st.writes)-1] {
				got = append(got, l.DAG)
			}
			st.writes = nil
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: wrote %v, want %v", step, got, want)
		}
	}

	r.record(ctx, t0)
	wrote("first", "etl", "load")
	if r.written[sensorKey{"load", 1}].TotalLag != -1 || r.written[sensorKey{"load", 1}].At != t0 ||
		r.written[sensorKey{"etl", 0}].Instance != "box-1" {
		t.Fatalf("readings %+v", r.written)
	}

	sensors[0].Lag.At = t0.Add(5 * time.Second)
	r.record(ctx, t0.Add(5*time.Second))
	wrote("read again, unchanged")

	sensors[0].Lag.TotalLag, sensors[0].Lag.At = 7, t0.Add(10*time.Second)
	r.record(ctx, t0.Add(10*time.Second))
	wrote("lag changed", "etl")

	sensors[0].Lag.At = t0.Add(40 * time.Second)
	r.record(ctx, t0.Add(41*time.Second))
	wrote("unchanged past the refresh", "etl", "load")

	// The lag monitor stopped reading: nothing new to vouch for.
	r.record(ctx, t0.Add(90*time.Second))
	wrote("no new reading past the refresh", "load")

	sensors[0].Status = api.SensorPaused
	st.fail = true
	r.record(ctx, t0.Add(91*time.Second))
	wrote("failed write")
	r.record(ctx, t0.Add(92*time.Second))
	wrote("retried", "etl")

	sensors = sensors[:1]
	r.record(ctx, t0.Add(93*time.Second))
	if _, ok := r.written[sensorKey{"load", 1}]; ok || len(r.written) != 1 {
		t.Fatalf("a removed sensor is still tracked: %+v", r.written)
	}
}

// Offline, a reading is taken for the sensor's current state only while
// an engine runs and it is recent: beside a running engine (the state
// dir's lock held) an old reading is stale, and one the engine stopped
// refreshing is a problem even when it said OK.
func TestStatusReadingFreshOrStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dags := enginetest.DAGFolder(t, map[string]string{
		"fresh": `{"sensors": [{"type": "kafka", "topic": "a"}], "nodes": [{"id": "x", "type": "local", "config": {"command": "true"}}]}`,
		"old":   `{"sensors": [{"type": "kafka", "topic": "b"}], "nodes": [{"id": "x", "type": "local", "config": {"command": "true"}}]}`,
	})
	state := t.TempDir()
	st, err := store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.RecordSensorLags(ctx, []store.SensorLag{
		{DAG: "fresh", Status: api.SensorBackpressure, LagStatus: api.LagWarn, TotalLag: 1500, Reason: "lag never fell", At: now.Add(-4 * time.Second)},
		{DAG: "old", Status: api.SensorRunning, LagStatus: api.LagOK, TotalLag: 0, Reason: "lag reached 0", At: now.Add(-10 * time.Minute)},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	lock, err := store.AcquireLock(state)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()

	eng, err := Open(ctx, Options{Offline: true, Config: Config{StateDir: state, Loader: loader.Config{Dir: dags, Enabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Engine.Running || len(s.Sensors) != 2 {
		t.Fatalf("engine %+v, sensors %+v", s.Engine, s.Sensors)
	}
	fresh, old := s.Sensors[0], s.Sensors[1]
	if fresh.Status != api.SensorBackpressure || fresh.LagStatus != api.LagWarn || fresh.Lag != 1500 || fresh.LagStale || fresh.LagReason != "lag never fell" {
		t.Errorf("fresh reading shown as %+v", fresh)
	}
	if !old.LagStale || old.Status != "" || old.LagStatus != api.LagOK {
		t.Errorf("a 10-minute-old reading shown as %+v, want stale, without its sensor status", old)
	}
	if len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0], "sensor old[0]: lag reading not refreshed by the running engine (stale: read 10m") {
		t.Errorf("problems %q, want only the stale reading's", s.Problems)
	}
}
