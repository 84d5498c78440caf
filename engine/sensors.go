package engine

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/sensor"
)

// newSensors prepares the Kafka sensors of every active DAG. The manager
// always exists: without brokers it lists each sensor with the reason it
// does not run instead of hiding it.
func (e *Engine) newSensors() error {
	sink := &sensor.StoreSink{Store: e.st, CreateRun: e.runner.Enqueue}
	m, err := sensor.NewManager(sensor.Options{
		Conn:              e.cfg.Kafka,
		Sink:              sink,
		Ticks:             sink,
		Logger:            e.log,
		MaxConcurrentRuns: e.cfg.MaxConcurrentRuns,
		Lag:               e.cfg.SensorLag,
		Clock:             e.cfg.Clock,
	})
	if err != nil {
		return fmt.Errorf("preparing kafka sensors: %w", err)
	}
	e.sensors = m
	e.lagRec = newLagRecorder(e.st, m.Snapshot, e.runner.Instance, e.cfg.SensorLag.Interval, e.log.With("component", "sensor lag"))
	e.lagRec.clock = clock.Or(e.cfg.Clock)
	return nil
}

// syncSensors makes the running sensors match the active definitions: the
// same set the scheduler fires (an invalid file keeps its last good
// version's sensors running).
func (e *Engine) syncSensors() {
	if err := e.sensors.Sync(e.scheduledDAGs()); err != nil {
		e.log.Warn("starting kafka sensors", "err", err)
	}
	// A sensor a file edit added to a paused DAG starts paused.
	e.applySensorPauses()
}

// PauseSensor implements API.
func (e *Engine) PauseSensor(ctx context.Context, dag string, index int, paused bool) error {
	err := e.pauseSensor(ctx, dag, index, paused)
	action := "pause sensor"
	if !paused {
		action = "resume sensor"
	}
	e.audit(ctx, action, fmt.Sprintf("sensor %d of dag %s", index, dag), "", "", err)
	return err
}

func (e *Engine) pauseSensor(ctx context.Context, dag string, index int, paused bool) error {
	verb, done := "pausing", "sensor paused"
	if !paused {
		verb, done = "resuming", "sensor resumed"
	}
	who := actorOf(ctx)
	if err := e.sensors.Pause(dag, index, paused, who); err != nil {
		return fmt.Errorf("%s sensor %d of %q: %w", verb, index, dag, err)
	}
	e.log.Info(done, "dag", dag, "sensor", index, "by", who)
	e.events.publish(api.TopicSensors)
	return nil
}
