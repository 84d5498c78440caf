// Package dag is Sluice's DAG model: the shape of a DAG file, its parsing from
// JSON and Starlark, its validation and its topological order. It is pure: it
// never touches a file, a network or a clock beyond the bytes it is handed.
package dag

import (
	"encoding/json"
	"time"

	"github.com/robfig/cron/v3"
)

// DAG is one validated DAG file. Values are immutable once Parse returns them:
// the loader, the runner and the console share them without copying.
type DAG struct {
	// Name is the file's path below its source root without the extension
	// ("production/daily_etl"). Set by the caller of Parse, not by the file.
	Name string `json:"-"`
	// File is the location the DAG was read from, used in every error.
	File string `json:"-"`

	Description   string            `json:"description,omitempty"`
	Enabled       bool              `json:"enabled"`
	Schedule      string            `json:"schedule,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	MaxActiveRuns int               `json:"max_active_runs,omitempty"`
	// Priority orders queued runs: higher runs first. Default 0.
	Priority int `json:"priority,omitempty"`
	// RetryOnCrash re-queues a run that a crash left running.
	RetryOnCrash bool `json:"retry_on_crash,omitempty"`
	// CatchUp fires one run for schedules missed while the process was down
	// (the default skips them and reports them).
	CatchUp bool `json:"catch_up,omitempty"`

	Nodes   []Node   `json:"nodes"`
	Edges   []Edge   `json:"edges,omitempty"`
	Sensors []Sensor `json:"sensors,omitempty"`

	// Version is the stored version this definition is, set by the engine
	// (not the file); 0 when unknown.
	Version int `json:"-"`

	// Set by validation: the parsed schedule and the dependency graph, so
	// the scheduler and executor do not redo the work.
	schedule cron.Schedule
	graph    *graph
}

// Node is one task of a DAG.
type Node struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Config    json.RawMessage `json:"config"`
	DependsOn []string        `json:"depends_on,omitempty"`

	// Task is the typed form of Config, set by validation: *LocalTask,
	// *LambdaTask, *SleepTask or *BuiltinTask.
	Task Task `json:"-"`
}

// Edge is an explicit dependency: From runs before To.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Task kinds.
const (
	KindLocal  = "local"
	KindLambda = "lambda"
	// KindBuiltinPrefix prefixes built-in kinds: sluice.noop, sluice.sleep,
	// sluice.meta.* steps.
	KindBuiltinPrefix = "sluice."
	KindNoop          = "sluice.noop"
	KindSleep         = "sluice.sleep"
	KindFail          = "sluice.fail"
)

// Task is the typed configuration of a node. Every kind shares retry and
// timeout settings through Common.
type Task interface {
	Common() TaskCommon
}

// TaskCommon are the settings every task kind understands.
type TaskCommon struct {
	// Timeout bounds one attempt; zero means no limit.
	Timeout Duration `json:"timeout,omitempty"`
	// Retry is how many times a failed attempt is retried (0: run once).
	Retry int `json:"retry,omitempty"`
	// RetryBackoff is the first wait between attempts (default 1s), doubled
	// each time with jitter.
	RetryBackoff Duration `json:"retry_backoff,omitempty"`
}

// Common implements Task.
func (c TaskCommon) Common() TaskCommon { return c }

// LocalTask runs a command on this machine.
type LocalTask struct {
	TaskCommon
	// Argv is the command in argv form. A string command in the file becomes
	// ["sh", "-c", string].
	Argv []string          `json:"command"`
	Env  map[string]string `json:"env,omitempty"`
	Dir  string            `json:"dir,omitempty"`
}

// LambdaTask invokes an AWS Lambda function.
type LambdaTask struct {
	TaskCommon
	FunctionName string `json:"function_name"`
	Qualifier    string `json:"qualifier,omitempty"`
	// Payload is a template: the string "{{run_config}}" anywhere in it is
	// replaced by the run's config JSON. Empty means the run config itself.
	Payload json.RawMessage `json:"payload,omitempty"`
	// InvocationType is "RequestResponse" (default, synchronous) or "Event".
	InvocationType string `json:"invocation_type,omitempty"`
}

// SleepTask is sluice.sleep: wait, then succeed. FailTimes makes the first
// attempts fail, which demos and tests use to show retries.
type SleepTask struct {
	TaskCommon
	Duration  Duration `json:"duration"`
	FailTimes int      `json:"fail_times,omitempty"`
}

// BuiltinTask is any other sluice.* kind; its config stays raw for the
// component that implements it.
type BuiltinTask struct {
	TaskCommon
	Raw json.RawMessage `json:"-"`
}

// Sensor types.
const SensorKafka = "kafka"

// Sensor is a trigger that turns a stream into runs.
type Sensor struct {
	Type string `json:"type"`
	// Topic and Topics are merged into Topics by validation.
	Topic          string   `json:"topic,omitempty"`
	Topics         []string `json:"topics,omitempty"`
	Group          string   `json:"group,omitempty"`
	MaxBatchSize   int      `json:"max_batch_size,omitempty"`
	MaxTickRuntime Duration `json:"max_tick_runtime,omitempty"`
	TickInterval   Duration `json:"tick_interval,omitempty"`
	Replicas       int      `json:"replicas,omitempty"`
	FetchMinBytes  int32    `json:"fetch_min_bytes,omitempty"`
	FetchMaxWait   Duration `json:"fetch_max_wait,omitempty"`
	// InitialOffset is "oldest" (default) or "newest".
	InitialOffset string `json:"initial_offset,omitempty"`
	// MaxQueued is the backpressure bound on queued runs of this DAG; zero
	// means 2 × the engine's max_concurrent_runs.
	MaxQueued int `json:"max_queued,omitempty"`
}

// Sensor defaults applied by validation when a field is absent.
const (
	DefaultMaxBatchSize   = 500
	DefaultMaxTickRuntime = 10 * time.Second
	DefaultTickInterval   = 10 * time.Second
	DefaultReplicas       = 1
)

// Duration is a time.Duration written in a file as a Go duration string
// ("1m30s") or an integer number of seconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}
