package demoenv

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/review"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/store"
)

// FirstRuns are the demo DAGs queued the moment the engine starts, so the
// run queue moves before the first schedule fires.
var FirstRuns = []string{"demo/heartbeat", "demo/fanout", "demo/flaky"}

// DemoTopic is the topic the producer feeds and dags/demo/kafka_events.json
// senses.
const DemoTopic = "events"

// EngineConfig is the engine configuration that runs against this
// environment: both DAG sources, the embedded broker for the sensors, the
// demo dbt repository and the Mode stand-in for the metapipeline, the bare
// origin and the GitHub stand-in for approvals.
func (e *Env) EngineConfig(log *slog.Logger) engine.Config {
	cfg := engine.Config{
		StateDir: e.StateDir,
		Loader:   e.Loader,
		// The demo's state is thrown away: no fsync per commit.
		Synchronous: store.SyncNormal,
		Logger:      log,
	}
	if e.Kafka != nil {
		cfg.Kafka = e.Kafka.Conn
		// Poll lag often enough that the sparkline moves between ticks.
		cfg.SensorLag = sensor.LagOptions{Interval: 2 * time.Second}
	}
	if e.Mode != nil {
		cfg.Meta = engine.MetaConfig{
			Config: meta.Config{
				Manifest:       e.DBT.Manifest,
				RunResults:     e.DBT.RunResults,
				ModeURL:        e.Mode.URL,
				ModeWorkspace:  ModeWorkspace,
				ExposuresOwner: "analytics@shop.example",
			},
			ModeToken:  ModeToken,
			ModeSecret: ModeSecret,
		}
		cfg.Review = review.Config{
			Repo:         e.DBT.Repo,
			BaseBranch:   DemoBranch,
			GitHubRepo:   GitHubRepo,
			GitHubAPIURL: e.GitHub.APIURL,
			Token:        GitHubToken,
			// The demo's GitHub is a loopback fake over plain HTTP.
			AllowHTTPLoopback: true,
			PollInterval:      2 * time.Second,
			// The demo project is small: its 4 unused models of 10 are
			// above the default cap, and the demo exists to show them.
			MaxDeleteFraction: 0.5,
		}
	}
	return cfg
}

// EngineStarted is called once the engine runs: it queues FirstRuns (a DAG
// that is missing, say with a different --dags-dir, is only logged) and the
// first metapipeline run, so review items appear within seconds.
func (e *Env) EngineStarted(ctx context.Context, api api.API, log *slog.Logger) {
	for _, name := range FirstRuns {
		if _, err := api.Trigger(ctx, name, nil); err != nil {
			log.Warn("demo: first run not queued", "dag", name, "err", err)
		}
	}
	if e.Mode != nil {
		if err := api.RunMeta(ctx); err != nil {
			log.Warn("demo: metapipeline not queued", "err", err)
		}
	}
}
