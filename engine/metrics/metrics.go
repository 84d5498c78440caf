// Package metrics exposes the engine to Prometheus. Everything is derived
// from what every front end sees — api.API's Snapshot and Subscribe — so
// the engine needs no metrics code of its own:
//
//   - gauges (runs queued and running, queue depth, lag per group and
//     partition, sensor and source health, DAGs and reviews by status) are
//     read from a fresh snapshot at scrape time, so they are never stale and
//     series of things that went away disappear;
//   - counters and histograms (finished runs, run and task durations, sensor
//     ticks and messages, loader scans, their duration and errors) are fed by
//     one goroutine that follows the engine's events and counts what is new
//     in each snapshot since the previous one.
//
// The second kind sees what a snapshot still shows: a finished run that
// falls out of the bounded Finished list before the watcher looks again is
// not counted. The watcher looks at least every MinInterval, far more often
// than the list turns over under any load Sluice runs.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/internal/lifecycle"
)

// Namespace prefixes every metric name.
const Namespace = "sluice"

// Options tune New.
type Options struct {
	Logger *slog.Logger
	// Registry receives the metrics; nil makes a fresh one that also holds
	// the Go runtime and process collectors.
	Registry *prometheus.Registry
	// MinInterval is the least time between two snapshot reads of the
	// watcher (default 100ms): events arriving meanwhile coalesce, so a
	// busy engine costs at most ten snapshots a second.
	MinInterval time.Duration
}

// Metrics is the engine's Prometheus instrumentation. Start it to follow
// the engine; Handler serves it.
type Metrics struct {
	api  api.API
	log  *slog.Logger
	reg  *prometheus.Registry
	min  time.Duration
	cntr *counters

	life lifecycle.Lifecycle
}

// New builds the metrics of api and registers them.
func New(api api.API, opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 100 * time.Millisecond
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		// The GC rules add go_gc_heap_live_bytes, the heap as the last GC
		// left it: the figure to watch for growth.
		reg.MustRegister(
			collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC)),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Metrics{api: api, log: opts.Logger, reg: reg, min: opts.MinInterval, cntr: newCounters()}
	reg.MustRegister(&snapshotCollector{api: api})
	m.cntr.register(reg)
	return m
}

// Registry returns the registry the metrics live in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{m.log}})
}

// ErrStarted is returned by a second Start.
var ErrStarted = lifecycle.ErrStarted

// Start subscribes to the engine and takes the current snapshot as the
// baseline (what finished before Start is not counted), then follows the
// engine until ctx ends or Stop.
func (m *Metrics) Start(ctx context.Context) error {
	return m.life.Start(ctx, func(ctx context.Context) error {
		events, unsubscribe := m.api.Subscribe()
		m.cntr.baseline(m.api.Snapshot())
		m.life.Go(func() {
			defer unsubscribe()
			m.watch(ctx, events)
		})
		return nil
	})
}

// Stop ends the watcher and waits for it.
func (m *Metrics) Stop() { m.life.Stop(nil) }

func (m *Metrics) watch(ctx context.Context, events <-chan api.Event) {
	pace := time.NewTimer(m.min)
	pace.Stop()
	defer pace.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
		}
		m.cntr.observe(m.api.Snapshot())
		// Hold the next read back: events coalesce in the one-slot channel.
		pace.Reset(m.min)
		select {
		case <-ctx.Done():
			return
		case <-pace.C:
		}
	}
}

// slogErrorLog adapts the logger to promhttp's error log.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Warn("serving metrics", "error", slog.AnyValue(v))
}
