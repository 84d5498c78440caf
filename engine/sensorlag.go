package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/lifecycle"
	"github.com/sluice-dev/sluice/engine/store"
)

// A sensor's consumer lag and its Burrow status come from a window of
// readings the running engine's lag monitor keeps in memory; `sluice
// status` runs in another process. The lag recorder writes each sensor's
// latest reading to the store — on change, at most once per lag poll, and
// again every lagRecordRefresh while it does not change — so a status
// taken beside the engine shows it with its age, without asking Kafka.

const (
	// lagRecordRefresh is how often an unchanged reading is written again:
	// its age then tells a live engine from one that stopped.
	lagRecordRefresh = 30 * time.Second
	// lagReadingStaleAfter is the age past which a recorded reading is no
	// longer taken for the current one (four refreshes missed).
	lagReadingStaleAfter = 4 * lagRecordRefresh
	// lagRecordMaxEvery bounds the recorder's period when the lag monitor
	// polls slowly: refreshes must stay well within the staleness bound.
	lagRecordMaxEvery = lagRecordRefresh / 2
)

// lagRecorder writes the sensors' lag readings to the store.
type lagRecorder struct {
	st       store.SensorLags
	sensors  func() []api.Sensor // this instance's sensors
	instance func() string
	every    time.Duration
	clock    clock.Clock // stamps each round's readings; the period is real time
	log      *slog.Logger

	written map[sensorKey]store.SensorLag // the last reading stored, per sensor
	failing bool
	life    lifecycle.Lifecycle
}

// newLagRecorder records at the lag monitor's pace (every, 5 s when 0).
func newLagRecorder(st store.SensorLags, sensors func() []api.Sensor, instance func() string, every time.Duration, log *slog.Logger) *lagRecorder {
	if every <= 0 {
		every = 5 * time.Second
	}
	return &lagRecorder{st: st, sensors: sensors, instance: instance, every: min(every, lagRecordMaxEvery),
		clock: clock.Real, log: log, written: map[sensorKey]store.SensorLag{}}
}

// Start records every period until Stop.
func (r *lagRecorder) Start(ctx context.Context) error {
	return r.life.Start(ctx, func(ctx context.Context) error {
		r.life.Every(ctx, r.every, func(ctx context.Context) { r.record(ctx, r.clock.Now()) })
		return nil
	})
}

// Stop ends the recording and waits for it.
func (r *lagRecorder) Stop() { r.life.Stop(nil) }

// record writes the readings that changed since last written, and those
// unchanged but last written lagRecordRefresh ago and read again since.
// A failed write keeps nothing: the next period tries again.
func (r *lagRecorder) record(ctx context.Context, now time.Time) {
	var out []store.SensorLag
	seen := map[sensorKey]bool{}
	for _, sn := range r.sensors() {
		k := sensorKey{sn.DAG, sn.Index}
		seen[k] = true
		l := lagReading(sn, r.instance(), now)
		prev, ok := r.written[k]
		if ok && sameReading(prev, l) && (now.Sub(prev.At) < lagRecordRefresh || !l.At.After(prev.At)) {
			continue
		}
		out = append(out, l)
	}
	for k := range r.written {
		if !seen[k] {
			delete(r.written, k)
		}
	}
	if len(out) == 0 {
		return
	}
	if err := r.st.RecordSensorLags(ctx, out); err != nil {
		if ctx.Err() == nil && !r.failing {
			r.log.Warn("recording sensor lag readings", "err", err)
		}
		r.failing = ctx.Err() == nil
		return
	}
	if r.failing {
		r.log.Info("recording sensor lag readings again")
		r.failing = false
	}
	for _, l := range out {
		r.written[sensorKey{l.DAG, l.Sensor}] = l
	}
}

// lagReading is a sensor's reading as the store keeps it. Before the lag
// monitor's first poll the lag is unknown (-1), not a lag of 0 judged OK;
// the reading is then as of now.
func lagReading(sn api.Sensor, instance string, now time.Time) store.SensorLag {
	l := store.SensorLag{DAG: sn.DAG, Sensor: sn.Index, Status: sn.Status, LagStatus: sn.Lag.Status,
		TotalLag: sn.Lag.TotalLag, Reason: sn.Lag.Reason, Error: sn.Error, Instance: instance, At: sn.Lag.At}
	if sn.Lag.At.IsZero() {
		l.LagStatus, l.TotalLag, l.Reason, l.At = "", -1, "", now
	}
	return l
}

// sameReading compares what a reading says, not when or by whom.
func sameReading(a, b store.SensorLag) bool {
	a.At, a.Instance, b.At, b.Instance = time.Time{}, "", time.Time{}, ""
	return a == b
}

// withReading fills a status sensor from a reading.
func withReading(ss api.StatusSensor, l store.SensorLag) api.StatusSensor {
	ss.Status, ss.Error = l.Status, l.Error
	ss.LagStatus, ss.Lag, ss.LagReason, ss.LagAt = l.LagStatus, l.TotalLag, l.Reason, l.At
	return ss
}
