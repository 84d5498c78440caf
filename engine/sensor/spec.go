package sensor

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
)

// Initial offsets for a group that never committed.
const (
	OffsetOldest = "oldest"
	OffsetNewest = "newest"
)

// DefaultMaxConcurrentRuns is the engine default the backpressure bound is
// derived from when the caller does not say (2 × 5 queued runs).
const DefaultMaxConcurrentRuns = 5

// defaultFetchMaxWait is how long a broker holds a fetch waiting for
// fetch_min_bytes. Lower than sarama's 500ms on purpose: a broker answers
// one request per connection at a time, so an offset commit queued behind
// an idle long-poll waits this long.
const defaultFetchMaxWait = 100 * time.Millisecond

// Spec is a kafka sensor of a DAG with every default resolved: what a
// running sensor actually does. Two Specs are equal when the sensor need
// not restart.
type Spec struct {
	DAG            string
	Index          int
	Topics         []string
	Group          string
	MaxBatchSize   int
	MaxTickRuntime time.Duration
	TickInterval   time.Duration
	Replicas       int
	FetchMinBytes  int32
	FetchMaxWait   time.Duration
	InitialOffset  string
	// MaxQueued is the backpressure bound: ticks stop pulling while this
	// many runs of the DAG wait in the queue.
	MaxQueued int
}

// DefaultGroup is the consumer group of a DAG's sensor when the file names
// none: "sluice.<dag>" for the first sensor, "sluice.<dag>.<index>" for
// further ones, so two sensors of one DAG never share a group by accident.
func DefaultGroup(dagName string, index int) string {
	if index == 0 {
		return "sluice." + dagName
	}
	return "sluice." + dagName + "." + strconv.Itoa(index)
}

// SpecOf resolves sensor index of d. maxConcurrentRuns (<=0: the default)
// sets the default backpressure bound.
func SpecOf(d *dag.DAG, index, maxConcurrentRuns int) (Spec, error) {
	if index < 0 || index >= len(d.Sensors) {
		return Spec{}, fmt.Errorf("dag %q has no sensor %d", d.Name, index)
	}
	s := d.Sensors[index]
	if s.Type != dag.SensorKafka {
		return Spec{}, fmt.Errorf("dag %q sensor %d: type %q is not %q", d.Name, index, s.Type, dag.SensorKafka)
	}
	if maxConcurrentRuns <= 0 {
		maxConcurrentRuns = DefaultMaxConcurrentRuns
	}
	sp := Spec{
		DAG:            d.Name,
		Index:          index,
		Group:          s.Group,
		MaxBatchSize:   s.MaxBatchSize,
		MaxTickRuntime: s.MaxTickRuntime.D(),
		TickInterval:   s.TickInterval.D(),
		Replicas:       s.Replicas,
		FetchMinBytes:  s.FetchMinBytes,
		FetchMaxWait:   s.FetchMaxWait.D(),
		InitialOffset:  s.InitialOffset,
		MaxQueued:      s.MaxQueued,
	}
	// Validation normally merges Topic into Topics; do it again so a DAG
	// built in code behaves the same.
	if s.Topic != "" {
		sp.Topics = append(sp.Topics, s.Topic)
	}
	for _, t := range s.Topics {
		if t != "" && !slices.Contains(sp.Topics, t) {
			sp.Topics = append(sp.Topics, t)
		}
	}
	if len(sp.Topics) == 0 {
		return Spec{}, fmt.Errorf("dag %q sensor %d: no topic", d.Name, index)
	}
	if sp.Group == "" {
		sp.Group = DefaultGroup(d.Name, index)
	}
	if sp.MaxBatchSize <= 0 {
		sp.MaxBatchSize = dag.DefaultMaxBatchSize
	}
	if sp.MaxTickRuntime <= 0 {
		sp.MaxTickRuntime = dag.DefaultMaxTickRuntime
	}
	if sp.TickInterval <= 0 {
		sp.TickInterval = dag.DefaultTickInterval
	}
	if sp.Replicas <= 0 {
		sp.Replicas = dag.DefaultReplicas
	}
	if sp.FetchMinBytes <= 0 {
		sp.FetchMinBytes = 1
	}
	if sp.FetchMaxWait <= 0 {
		sp.FetchMaxWait = defaultFetchMaxWait
	}
	switch sp.InitialOffset {
	case "":
		sp.InitialOffset = OffsetOldest
	case OffsetOldest, OffsetNewest:
	default:
		return Spec{}, fmt.Errorf("dag %q sensor %d: initial_offset %q is neither %q nor %q",
			d.Name, index, sp.InitialOffset, OffsetOldest, OffsetNewest)
	}
	if sp.MaxQueued <= 0 {
		sp.MaxQueued = 2 * maxConcurrentRuns
	}
	return sp, nil
}

func (s Spec) equal(o Spec) bool {
	return s.DAG == o.DAG && s.Index == o.Index && slices.Equal(s.Topics, o.Topics) &&
		s.Group == o.Group && s.MaxBatchSize == o.MaxBatchSize && s.MaxTickRuntime == o.MaxTickRuntime &&
		s.TickInterval == o.TickInterval && s.Replicas == o.Replicas && s.FetchMinBytes == o.FetchMinBytes &&
		s.FetchMaxWait == o.FetchMaxWait && s.InitialOffset == o.InitialOffset && s.MaxQueued == o.MaxQueued
}
