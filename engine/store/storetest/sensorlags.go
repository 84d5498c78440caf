package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// testSensorLags: a reading is its sensor's latest until a later one
// replaces it; an older one (another instance's, written late) does not;
// readings survive a reopen, listed by DAG and sensor.
func testSensorLags(t *testing.T, h harness) {
	ctx := context.Background()
	s, place := h.openPlace(t)
	if got, err := s.SensorLags(ctx); err != nil || len(got) != 0 {
		t.Fatalf("fresh store: %v, %v; want none", got, err)
	}
	t0 := time.Unix(1_700_000_000, 123_456_789)
	first := []store.SensorLag{
		{DAG: "load", Sensor: 0, Status: api.SensorRunning, LagStatus: api.LagOK, TotalLag: 0, Reason: "lag reached 0", Instance: "a", At: t0},
		{DAG: "etl", Sensor: 1, Status: api.SensorPaused, LagStatus: api.LagWarn, TotalLag: 1500, Reason: "lag never fell", Instance: "a", At: t0},
		{DAG: "etl", Sensor: 0, Status: api.SensorError, LagStatus: "", TotalLag: -1, Error: "no kafka brokers configured", Instance: "a", At: t0},
	}
	if err := s.RecordSensorLags(ctx, first); err != nil {
		t.Fatal(err)
	}
	want := []store.SensorLag{first[2], first[1], first[0]}
	checkSensorLags(t, s, want)

	later := store.SensorLag{DAG: "etl", Sensor: 1, Status: api.SensorPaused, LagStatus: api.LagErr, TotalLag: 1700,
		Reason: "clicks/0 STALL: stuck", Instance: "b", At: t0.Add(5 * time.Second)}
	older := store.SensorLag{DAG: "load", Sensor: 0, Status: api.SensorRunning, LagStatus: api.LagWarn, TotalLag: 9,
		Instance: "b", At: t0.Add(-time.Second)}
	if err := s.RecordSensorLags(ctx, []store.SensorLag{later, older}); err != nil {
		t.Fatal(err)
	}
	want[1] = later
	checkSensorLags(t, s, want)
	if err := s.RecordSensorLags(ctx, nil); err != nil {
		t.Fatalf("no readings: %v", err)
	}
	checkSensorLags(t, h.reopen(t, place), want)
}

func checkSensorLags(t *testing.T, s store.Interface, want []store.SensorLag) {
	t.Helper()
	got, err := s.SensorLags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("readings %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) {
			t.Errorf("reading %d at %v, want %v", i, g.At, w.At)
		}
		g.At, w.At = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("reading %d = %+v, want %+v", i, g, w)
		}
	}
}
