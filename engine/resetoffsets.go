package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/sensor"
	"github.com/sluice-dev/sluice/engine/store"
)

// ErrSensorNotPaused: offsets are reset only under a paused sensor, or it
// would commit over the reset with the next batch.
var ErrSensorNotPaused = errors.New("the sensor is not paused")

// ResetOffsets implements API.
func (e *Engine) ResetOffsets(ctx context.Context, req api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	plan, err := e.resetOffsets(ctx, req)
	if req.DryRun {
		return plan, err
	}
	result := ""
	if err == nil {
		reread, skipped, _ := plan.Totals()
		result = fmt.Sprintf("ok: group %s, %d partitions, %d records to re-read, %d skipped, %d batches released",
			plan.Group, len(plan.Partitions), reread, skipped, plan.Released)
	}
	what := "to " + describeTarget(req)
	if req.AllowReprocess {
		what += ", reprocessing allowed"
	}
	if req.Reason != "" {
		what += ": " + req.Reason
	}
	e.audit(ctx, "reset offsets", fmt.Sprintf("sensor %d of dag %s", req.Sensor, req.DAG), what, result, err)
	if err == nil {
		e.log.Info("consumer group offsets reset", "dag", req.DAG, "sensor", req.Sensor, "group", plan.Group,
			"to", describeTarget(req), "actor", actorOf(ctx))
	}
	return plan, err
}

func describeTarget(req api.ResetOffsetsRequest) string {
	switch req.To {
	case api.ToTime:
		return req.Time.UTC().Format(time.RFC3339)
	case api.ToOffset:
		var b strings.Builder
		for p, o := range req.Offset {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d:%d", p, o)
		}
		return "offsets " + b.String()
	}
	return string(req.To)
}

func (e *Engine) resetOffsets(ctx context.Context, req api.ResetOffsetsRequest) (api.ResetOffsetsPlan, error) {
	plan := api.ResetOffsetsPlan{DAG: req.DAG, Sensor: req.Sensor, DryRun: req.DryRun}
	fail := func(err error) (api.ResetOffsetsPlan, error) {
		return plan, fmt.Errorf("resetting the offsets of sensor %d of %q: %w", req.Sensor, req.DAG, err)
	}
	switch req.To {
	case api.ToEarliest, api.ToLatest:
	case api.ToTime:
		if req.Time.IsZero() {
			return fail(errors.New("name the time to reset to"))
		}
	case api.ToOffset:
		if len(req.Offset) == 0 {
			return fail(errors.New("name the offsets to reset to (partition:offset)"))
		}
	default:
		return fail(fmt.Errorf("reset to earliest, latest, a time or offsets, not %q", req.To))
	}
	if len(e.cfg.Kafka.Brokers) == 0 {
		return fail(errors.New("no Kafka brokers configured"))
	}
	st, err := e.openStore(ctx, false)
	if err != nil {
		return fail(err)
	}
	def, err := e.definition(ctx, st, req.DAG)
	if err != nil {
		return fail(err)
	}
	spec, err := sensor.SpecOf(def, req.Sensor, 0)
	if err != nil {
		return fail(err)
	}
	plan.Group = spec.Group
	paused, err := e.sensorPaused(ctx, st, req.DAG, req.Sensor)
	if err != nil {
		return fail(err)
	}
	if !paused && !req.DryRun {
		return fail(fmt.Errorf("%w: pause it first (sluice dags pause %s, or p in the Kafka pane), then reset", ErrSensorNotPaused, req.DAG))
	}
	rd, err := sensor.NewOffsetReader(e.cfg.Kafka)
	if err != nil {
		return fail(err)
	}
	defer rd.Close()
	moves, err := rd.PlanReset(spec.Group, spec.Topics, req.To, req.Time.UnixMilli(), req.Offset)
	if err != nil {
		return fail(err)
	}
	for _, mv := range moves {
		c, err := e.offsetChange(ctx, st, spec, mv)
		if err != nil {
			return fail(err)
		}
		plan.Partitions = append(plan.Partitions, c)
	}
	if req.DryRun {
		return plan, nil
	}
	if err := rd.CommitReset(spec.Group, moves); err != nil {
		if errors.Is(err, sensor.ErrGroupActive) {
			err = fmt.Errorf("%w: an engine notices a pause within a second; if this persists, another process consumes with the group", err)
		}
		return fail(err)
	}
	if req.AllowReprocess {
		for _, mv := range moves {
			n, err := st.ReleaseBatches(ctx, req.DAG, mv.Topic, mv.Partition, mv.New, e.now())
			if err != nil {
				return fail(err)
			}
			plan.Released += n
		}
	}
	return plan, nil
}

// offsetChange is one partition of the plan: how many records the group
// will read again (or skip) from where it would resume, and how many of
// those the DAG's runs already carry.
func (e *Engine) offsetChange(ctx context.Context, st store.Interface, spec sensor.Spec, mv sensor.OffsetMove) (api.OffsetChange, error) {
	c := api.OffsetChange{Topic: mv.Topic, Partition: mv.Partition, Current: mv.Current, New: mv.New}
	resume := mv.Current
	if resume < 0 {
		resume = mv.LogStart
		if spec.InitialOffset == sensor.OffsetNewest {
			resume = mv.LogEnd
		}
	}
	c.Reread = max(resume-mv.New, 0)
	c.Skipped = max(mv.New-resume, 0)
	if c.Reread == 0 {
		return c, nil
	}
	hw, ok, err := st.BatchHighWater(ctx, spec.DAG, mv.Topic, mv.Partition)
	if err != nil {
		return c, err
	}
	if ok {
		c.Carried = max(min(resume-1, hw)-mv.New+1, 0)
	}
	return c, nil
}

// sensorPaused reports whether a sensor is paused: its DAG paused (in the
// store, so the CLI sees an engine's pause), or, in a running engine, the
// sensor itself.
func (e *Engine) sensorPaused(ctx context.Context, st store.Interface, dagName string, index int) (bool, error) {
	p, err := st.PausedDAGs(ctx)
	if err != nil {
		return false, err
	}
	if _, ok := p[dagName]; ok {
		return true, nil
	}
	if e.off != nil || e.sensors == nil {
		return false, nil
	}
	for _, s := range e.sensors.Snapshot() {
		if s.DAG == dagName && s.Index == index {
			return s.Paused, nil
		}
	}
	return false, nil
}
