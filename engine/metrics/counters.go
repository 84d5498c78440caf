package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice/engine/api"
)

// counters turns successive snapshots into counts: what is new in this
// snapshot since the previous one.
type counters struct {
	runsFinished *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	taskDuration *prometheus.HistogramVec
	ticks        *prometheus.CounterVec
	tickMessages *prometheus.CounterVec
	tickDuration *prometheus.HistogramVec
	scans        *prometheus.CounterVec
	scanErrors   *prometheus.CounterVec
	scanDuration *prometheus.HistogramVec

	mu        sync.Mutex
	finished  map[int64]struct{}   // run ids in the previous Finished list
	ticksSeen map[tickKey]struct{} // ticks in the previous snapshot
	lastScan  map[string]time.Time // LastScan seen, by source
}

func newCounters() *counters {
	name := func(n string) string { return prometheus.BuildFQName(Namespace, "", n) }
	// Tasks run from under a second (a builtin) to hours (a backfill).
	taskBuckets := prometheus.ExponentialBuckets(0.1, 2.5, 12) // 0.1s … ~40m
	return &counters{
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("runs_finished_total"),
			Help: "Runs that finished, by DAG and final state (success, failed, cancelled)."}, []string{"dag", "state"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("run_duration_seconds"),
			Help: "Wall time of finished runs, from start to finish.", Buckets: taskBuckets}, []string{"dag", "state"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("task_duration_seconds"),
			Help: "Wall time of the last attempt of each task of a finished run.", Buckets: taskBuckets}, []string{"dag", "state"}),
		ticks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("sensor_ticks_total"),
			Help: "Sensor ticks, by result: ok, skipped (e.g. backpressure) or error."}, []string{"dag", "sensor", "result"}),
		tickMessages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("sensor_messages_total"),
			Help: "Kafka messages sensor ticks pulled into runs."}, []string{"dag", "sensor"}),
		tickDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("sensor_tick_duration_seconds"),
			Help: "Duration of sensor ticks.", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10)}, []string{"dag", "sensor"}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("loader_scans_total"),
			Help: "Scans of a DAG source, by result (ok, error)."}, []string{"source", "result"}),
		scanErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("loader_scan_errors_total"),
			Help: "Scans of a DAG source that failed."}, []string{"source"}),
		scanDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name("loader_scan_duration_seconds"),
			Help: "Duration of scans of a DAG source.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, []string{"source"}),
		finished:  map[int64]struct{}{},
		ticksSeen: map[tickKey]struct{}{},
		lastScan:  map[string]time.Time{},
	}
}

func (c *counters) register(reg prometheus.Registerer) {
	reg.MustRegister(c.runsFinished, c.runDuration, c.taskDuration, c.ticks, c.tickMessages,
		c.tickDuration, c.scans, c.scanErrors, c.scanDuration)
}

// baseline remembers what s shows without counting it: those runs, ticks
// and scans happened before the metrics started (or before a restart).
func (c *counters) baseline(s *api.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == nil {
		return
	}
	c.walk(s, false)
}

// observe counts what s shows that the previous snapshot did not.
func (c *counters) observe(s *api.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == nil {
		return
	}
	c.walk(s, true)
}

func (c *counters) walk(s *api.Snapshot, count bool) {
	finished := make(map[int64]struct{}, len(s.Runs.Finished))
	for i := range s.Runs.Finished {
		r := &s.Runs.Finished[i]
		finished[r.ID] = struct{}{}
		if _, seen := c.finished[r.ID]; seen || !count {
			continue
		}
		c.runFinished(r)
	}
	c.finished = finished

	ticks := make(map[tickKey]struct{}, len(c.ticksSeen))
	for _, sn := range s.Sensors {
		for _, t := range sn.Ticks {
			k := tickKey{dag: sn.DAG, index: sn.Index, id: t.ID}
			if t.ID == 0 { // not persisted: the start time tells ticks apart
				k.start = t.Start.UnixNano()
			}
			ticks[k] = struct{}{}
			if _, seen := c.ticksSeen[k]; seen || !count {
				continue
			}
			c.tick(sn, t)
		}
	}
	c.ticksSeen = ticks

	for _, src := range s.Sources {
		if src.LastScan.IsZero() || !src.LastScan.After(c.lastScan[src.Name]) {
			continue
		}
		c.lastScan[src.Name] = src.LastScan
		if !count {
			continue
		}
		result := "ok"
		if !src.OK {
			result = "error"
			c.scanErrors.WithLabelValues(src.Name).Inc()
		}
		c.scans.WithLabelValues(src.Name, result).Inc()
		c.scanDuration.WithLabelValues(src.Name).Observe(src.ScanDuration.Seconds())
	}
}

// tickKey identifies a tick across snapshots.
type tickKey struct {
	dag   string
	index int
	id    int64
	start int64
}

func (c *counters) runFinished(r *api.Run) {
	c.runsFinished.WithLabelValues(r.DAG, string(r.State)).Inc()
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		c.runDuration.WithLabelValues(r.DAG, string(r.State)).Observe(r.FinishedAt.Sub(r.StartedAt).Seconds())
	}
	for _, t := range r.Tasks {
		if t.StartedAt.IsZero() || !t.FinishedAt.After(t.StartedAt) {
			continue // never started (skipped, upstream failed)
		}
		c.taskDuration.WithLabelValues(r.DAG, string(t.State)).Observe(t.FinishedAt.Sub(t.StartedAt).Seconds())
	}
}

func (c *counters) tick(sn api.Sensor, t api.Tick) {
	idx := strconv.Itoa(sn.Index)
	result := "ok"
	switch {
	case t.Error != "":
		result = "error"
	case t.Skipped != "":
		result = "skipped"
	}
	c.ticks.WithLabelValues(sn.DAG, idx, result).Inc()
	if t.Messages > 0 {
		c.tickMessages.WithLabelValues(sn.DAG, idx).Add(float64(t.Messages))
	}
	if t.Duration > 0 {
		c.tickDuration.WithLabelValues(sn.DAG, idx).Observe(t.Duration.Seconds())
	}
}
