package demoenv

import (
	"context"
	"log/slog"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/store"
)

// FirstRuns are the demo DAGs queued the moment the engine starts, so the
// run queue moves before the first schedule fires.
var FirstRuns = []string{"demo/heartbeat", "demo/fanout", "demo/flaky"}

// EngineConfig is the engine configuration that runs against this
// environment. Stand-ins added later fill their part here (brokers, the
// dbt repository, the BI endpoint), so `sluice demo` needs no change.
func (e *Env) EngineConfig(log *slog.Logger) engine.Config {
	return engine.Config{
		StateDir: e.StateDir,
		Loader:   e.Loader,
		// The demo's state is thrown away: no fsync per commit.
		Synchronous: store.SyncNormal,
		Logger:      log,
	}
}

// EngineStarted is called once the engine runs: it queues FirstRuns (a DAG
// that is missing, say with a different --dags-dir, is only logged).
// Stand-ins that need a running engine (a producer feeding a sensor) start
// here.
func (e *Env) EngineStarted(ctx context.Context, api engine.API, log *slog.Logger) {
	for _, name := range FirstRuns {
		if _, err := api.Trigger(ctx, name, nil); err != nil {
			log.Warn("demo: first run not queued", "dag", name, "err", err)
		}
	}
}
