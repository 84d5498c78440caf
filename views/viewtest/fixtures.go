// Package viewtest holds scripted snapshots for the console's tests and
// benchmarks: empty, loaded, failing, and large. Times are fixed so golden
// files are stable; Now is the clock the tests pin the console to.
package viewtest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
)

// Now is the pinned "current time" of every fixture.
var Now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Clock is stopped at Now, for common.Common.Clock and tui.Options.Clock.
var Clock = clock.Fixed(Now)

func ago(d time.Duration) time.Time { return Now.Add(-d) }

// Empty is the snapshot of an engine with nothing configured yet.
func Empty() *api.Snapshot { return &api.Snapshot{At: Now} }

// Task kinds of the fixtures, as a DAG file spells them.
const (
	kindLocal = "local"
	kindSleep = "sluice.sleep"
)

// fileNode and fileDAG are the fixtures' definitions as a DAG file holds
// them, for the definition JSON the detail view shows.
type fileNode struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Config    json.RawMessage `json:"config"`
	DependsOn []string        `json:"depends_on,omitempty"`
}

type fileDAG struct {
	Description   string     `json:"description,omitempty"`
	Enabled       bool       `json:"enabled"`
	Schedule      string     `json:"schedule,omitempty"`
	MaxActiveRuns int        `json:"max_active_runs,omitempty"`
	Nodes         []fileNode `json:"nodes"`
}

type fixtureNode struct {
	file fileNode
	view api.Node
}

// node is one task: a sleep sleeps 2s (fail_times and retry read from
// cfg), a local task runs "sh -c 'echo hi'".
func node(id, kind string, cfg string, deps ...string) fixtureNode {
	n := fixtureNode{
		file: fileNode{ID: id, Type: kind, Config: json.RawMessage(cfg), DependsOn: deps},
		view: api.Node{ID: id, Kind: kind, DependsOn: deps},
	}
	switch kind {
	case kindSleep:
		var raw struct {
			FailTimes int `json:"fail_times"`
			Retry     int `json:"retry"`
		}
		_ = json.Unmarshal([]byte(cfg), &raw)
		parts := []string{"sleep 2s"}
		if raw.FailTimes > 0 {
			parts = append(parts, fmt.Sprintf("fails %d×", raw.FailTimes))
		}
		if raw.Retry > 0 {
			parts = append(parts, fmt.Sprintf("retry %d", raw.Retry))
		}
		n.view.Summary = strings.Join(parts, " · ")
	case kindLocal:
		n.view.Command = "sh -c echo hi"
	}
	return n
}

func def(name, schedule string, nodes ...fixtureNode) *api.DAGDef {
	f := fileDAG{Description: "demo: " + name, Enabled: true, Schedule: schedule, MaxActiveRuns: 1}
	d := &api.DAGDef{Description: f.Description, Enabled: true, Schedule: schedule, MaxActiveRuns: 1}
	for _, n := range nodes {
		f.Nodes = append(f.Nodes, n.file)
		d.Nodes = append(d.Nodes, n.view)
	}
	js, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err)
	}
	d.Definition = string(js)
	return d
}

func fanout() *api.DAGDef {
	return def("demo/fanout", "@every 10s",
		node("start", kindSleep, `{"duration":"1s"}`),
		node("a", kindSleep, `{"duration":"2s"}`, "start"),
		node("b", kindSleep, `{"duration":"2s"}`, "start"),
		node("c", kindSleep, `{"duration":"2s"}`, "start"),
		node("join", kindSleep, `{"duration":"1s"}`, "a", "b", "c"))
}

func flaky() *api.DAGDef {
	return def("demo/flaky", "@every 10s",
		node("prepare", kindSleep, `{"duration":"1s"}`),
		node("flaky", kindSleep, `{"duration":"1s","fail_times":2,"retry":3}`, "prepare"))
}

// Loaded is a busy engine: two healthy sources, DAGs in every status, runs
// queued, running and finished, a sensor, a review item and logs.
func Loaded() *api.Snapshot {
	etl := def("production/daily_etl", "0 3 * * *",
		node("extract", kindLocal, `{"command":"./extract"}`),
		node("load", kindLocal, `{"command":"./load"}`, "extract"))
	s := &api.Snapshot{
		At:          Now,
		MetaEnabled: true,
		Sources: []api.Source{
			{Name: "local", Location: "/srv/sluice/dags", OK: true, LastScan: ago(3 * time.Second), ScanDuration: 14 * time.Millisecond, Files: 5},
			{Name: "s3", Location: "s3://sluice-demo/dags/", OK: true, LastScan: ago(4 * time.Second), ScanDuration: 38 * time.Millisecond, Files: 3},
		},
		DAGs: []api.DAG{
			{Name: "demo/fanout", Source: "local", Location: "/srv/sluice/dags/demo/fanout.json", Status: api.DAGActive, Def: fanout(),
				Checksum: "9f2c1e0a7b", LoadedAt: ago(time.Minute), NextFire: Now.Add(8 * time.Second)},
			{Name: "demo/flaky", Source: "local", Location: "/srv/sluice/dags/demo/flaky.json", Status: api.DAGActive, Def: flaky(),
				Checksum: "41aa09c3d2", LoadedAt: ago(time.Minute), NextFire: Now.Add(3 * time.Second)},
			{Name: "production/daily_etl", Source: "local", Location: "/srv/sluice/dags/production/daily_etl.json", Status: api.DAGInvalid, Def: etl,
				Checksum: "c0ffee1234", LoadedAt: ago(2 * time.Hour), NextFire: Now.Add(15 * time.Hour),
				Errors: []api.ErrorLine{{Node: "load", Path: "/nodes/1/config/command", Msg: "a local task needs a command"}}},
			{Name: "production/old_report", Source: "local", Location: "/srv/sluice/dags/production/old_report.json", Status: api.DAGDisabled,
				LoadedAt: ago(24 * time.Hour)},
			{Name: "reports/broken", Source: "s3", Location: "s3://sluice-demo/dags/reports/broken.json", Status: api.DAGInvalid,
				Errors: []api.ErrorLine{{Path: "/nodes/0", Msg: "missing \"type\""}, {Msg: "edge names unknown node \"ghost\""}}},
			{Name: "reports/hourly", Source: "s3", Location: "s3://sluice-demo/dags/reports/hourly.json", Status: api.DAGActive,
				Def: def("reports/hourly", "@every 10s", node("rollup", kindSleep, `{"duration":"3s"}`)), Checksum: "77e1d0b9aa", LoadedAt: ago(time.Minute), NextFire: Now.Add(5 * time.Second)},
			{Name: "reports/hourly", Source: "s3", Location: "s3://sluice-demo/dags/reports/hourly.star", Status: api.DAGConflict,
				ConflictWith: "s3://sluice-demo/dags/reports/hourly.json", LoadedAt: ago(time.Minute)},
		},
		Runs: api.Runs{
			Queued: []api.Run{
				{ID: 14, DAG: "demo/fanout", State: api.RunQueued, Trigger: "schedule", QueuedAt: ago(4 * time.Second), WaitReason: "max_active_runs 1 reached", Total: 5},
				{ID: 15, DAG: "reports/hourly", State: api.RunQueued, Trigger: "manual", QueuedAt: ago(time.Second), WaitReason: "max_concurrent_runs 2 reached", Total: 1},
			},
			Running: []api.Run{
				{ID: 12, DAG: "demo/flaky", State: api.RunRunning, Trigger: "schedule", QueuedAt: ago(9 * time.Second), StartedAt: ago(8 * time.Second), Done: 1, Total: 2,
					Tasks: []api.Task{
						{ID: "prepare", State: api.TaskSuccess, Attempt: 1, StartedAt: ago(8 * time.Second), FinishedAt: ago(7 * time.Second), LogTail: "preparing\nready\n"},
						{ID: "flaky", State: api.TaskRetrying, Attempt: 2, StartedAt: ago(6 * time.Second), Error: "simulated failure 1 of 2", LogTail: "attempt 1: failing on purpose\nattempt 2: sleeping 1s\n"},
					}},
				{ID: 13, DAG: "demo/fanout", State: api.RunRunning, Trigger: "manual", QueuedAt: ago(5 * time.Second), StartedAt: ago(4 * time.Second), Done: 1, Total: 5,
					Tasks: []api.Task{
						{ID: "start", State: api.TaskSuccess, Attempt: 1, StartedAt: ago(4 * time.Second), FinishedAt: ago(3 * time.Second)},
						{ID: "a", State: api.TaskRunning, Attempt: 1, StartedAt: ago(3 * time.Second)},
						{ID: "b", State: api.TaskRunning, Attempt: 1, StartedAt: ago(3 * time.Second)},
						{ID: "c", State: api.TaskPending},
						{ID: "join", State: api.TaskPending},
					}},
			},
			Finished: []api.Run{
				{ID: 11, DAG: "reports/hourly", State: api.RunSuccess, Trigger: "schedule", QueuedAt: ago(20 * time.Second), StartedAt: ago(19 * time.Second), FinishedAt: ago(16 * time.Second), Done: 1, Total: 1,
					Tasks: []api.Task{{ID: "rollup", State: api.TaskSuccess, Attempt: 1, StartedAt: ago(19 * time.Second), FinishedAt: ago(16 * time.Second), LogTail: "rolled up 42 rows\n"}}},
				{ID: 10, DAG: "demo/flaky", State: api.RunFailed, Trigger: "schedule", QueuedAt: ago(40 * time.Second), StartedAt: ago(39 * time.Second), FinishedAt: ago(30 * time.Second), Done: 2, Total: 2,
					Error: "task flaky failed after 3 attempts"},
				{ID: 9, DAG: "demo/fanout", State: api.RunCancelled, Trigger: "manual", QueuedAt: ago(70 * time.Second), StartedAt: ago(69 * time.Second), FinishedAt: ago(65 * time.Second), Done: 1, Total: 5},
			},
		},
		Sensors: []api.Sensor{{
			DAG: "demo/events", Topics: []string{"events"}, Group: "sluice.demo/events", Status: "running",
			Ticks:   []api.Tick{{ID: 3, Start: ago(2 * time.Second), Duration: 400 * time.Millisecond, Batches: 2, Messages: 800}},
			Lag:     api.GroupLag{Group: "sluice.demo/events", State: "Stable", Members: 1, Status: "OK", TotalLag: 120, At: ago(time.Second), Partitions: []api.PartitionLag{{Topic: "events", Partition: 0, LogEnd: 1000, Committed: 900, Lag: 100, Rate: 250, Status: "OK"}, {Topic: "events", Partition: 1, LogEnd: 520, Committed: 500, Lag: 20, Rate: 240, Status: "OK"}}},
			History: []int64{50, 80, 120, 90, 140, 120},
		}},
		Reviews: []api.Review{{
			ID: 1, Kind: "deprecate", State: api.ReviewStaged, Branch: "sluice/deprecate-20250601-ab12", Title: "Remove 2 unused dbt models",
			Files: []string{"models/old.sql", "models/schema.yml"}, CreatedAt: ago(time.Hour),
			Subjects: []api.ReviewSubject{{ID: "model.shop.old", Name: "old", Reason: "no path to any consumer", Importance: 0.01}},
			Diff:     "--- a/models/old.sql\n+++ /dev/null\n@@ -1 +0,0 @@\n-select 1\n",
		}},
		Logs: []api.LogRecord{
			{Time: ago(5 * time.Second), Level: slog.LevelInfo, Msg: "scanned source", Attrs: "source=local files=5 changed=0"},
			{Time: ago(4 * time.Second), Level: slog.LevelWarn, Msg: "dag invalid, last good version kept", Attrs: "dag=production/daily_etl errors=1"},
			{Time: ago(3 * time.Second), Level: slog.LevelInfo, Msg: "run started", Attrs: "run=13 dag=demo/fanout trigger=manual"},
			{Time: ago(2 * time.Second), Level: slog.LevelError, Msg: "task attempt failed", Attrs: "run=12 task=flaky attempt=1 err=\"simulated failure 1 of 2\""},
			{Time: ago(time.Second), Level: slog.LevelDebug, Msg: "queue state", Attrs: "queued=2 running=2"},
		},
	}
	return s
}

// Failing is an engine in trouble: the S3 source cannot be listed (its DAGs
// stay as they were), a file is invalid, and the recent runs failed.
func Failing() *api.Snapshot {
	s := Loaded()
	s.Sources[1].OK = false
	s.Sources[1].Error = "listing s3://sluice-demo/dags/: operation error S3: ListObjectsV2, dial tcp 127.0.0.1:9000: connect: connection refused"
	s.Runs.Queued = nil
	s.Runs.Running = nil
	s.Runs.Finished = []api.Run{
		{ID: 21, DAG: "demo/flaky", State: api.RunFailed, Trigger: "schedule", QueuedAt: ago(12 * time.Second), StartedAt: ago(11 * time.Second), FinishedAt: ago(2 * time.Second), Done: 2, Total: 2,
			Error: "task flaky failed after 3 attempts: simulated failure 3 of 3",
			Tasks: []api.Task{
				{ID: "prepare", State: api.TaskSuccess, Attempt: 1, StartedAt: ago(11 * time.Second), FinishedAt: ago(10 * time.Second)},
				{ID: "flaky", State: api.TaskFailed, Attempt: 3, StartedAt: ago(9 * time.Second), FinishedAt: ago(2 * time.Second), Error: "simulated failure 3 of 3", LogTail: "attempt 3: failing on purpose\n"},
			}},
		{ID: 20, DAG: "production/daily_etl", State: api.RunFailed, Trigger: "schedule", QueuedAt: ago(time.Hour), StartedAt: ago(time.Hour), FinishedAt: ago(59 * time.Minute), Done: 1, Total: 2,
			Error: "task extract: exit status 127",
			Tasks: []api.Task{
				{ID: "extract", State: api.TaskFailed, Attempt: 1, Error: "exit status 127", LogTail: "sh: ./extract: not found\n"},
				{ID: "load", State: api.TaskUpstreamFailed},
			}},
	}
	s.Sensors[0].Status = "error"
	s.Sensors[0].Error = "kafka: client has run out of available brokers"
	s.Sensors[0].Lag.Status = "ERR"
	s.Sensors[0].Ticks = append([]api.Tick{{ID: 4, Start: ago(time.Second), Error: "kafka: client has run out of available brokers"}}, s.Sensors[0].Ticks...)
	s.Reviews[0].State = api.ReviewFailed
	s.Reviews[0].Error = "push rejected: non-fast-forward"
	s.Logs = append(s.Logs, api.LogRecord{Time: Now, Level: slog.LevelError, Msg: "scan failed", Attrs: "source=s3 err=\"connection refused\""})
	return s
}

// Large is a snapshot at the scale the console must stay smooth at: dags
// DAGs in folders of 100, runs runs (a fiftieth running, half of the rest
// queued, half finished), and a full log ring.
func Large(dags, runs int) *api.Snapshot {
	s := &api.Snapshot{At: Now}
	s.Sources = []api.Source{
		{Name: "local", Location: "/srv/sluice/dags", OK: true, LastScan: ago(time.Second), ScanDuration: 80 * time.Millisecond, Files: dags / 2},
		{Name: "s3", Location: "s3://sluice-demo/dags/", OK: true, LastScan: ago(time.Second), ScanDuration: 300 * time.Millisecond, Files: dags - dags/2},
	}
	fan := fanout()
	s.DAGs = make([]api.DAG, dags)
	for i := range s.DAGs {
		src := "local"
		if i >= dags/2 {
			src = "s3"
		}
		name := fmt.Sprintf("team%03d/dag%05d", i/100, i)
		s.DAGs[i] = api.DAG{Name: name, Source: src, Location: "/srv/" + src + "/" + name + ".json", Status: api.DAGActive,
			Def: fan, Checksum: "abc", LoadedAt: ago(time.Minute), NextFire: Now.Add(time.Duration(i%60) * time.Second)}
	}
	running := runs / 50
	for i := 0; i < runs; i++ {
		r := api.Run{ID: int64(i + 1), DAG: s.DAGs[i%max(dags, 1)].Name, Trigger: "schedule", QueuedAt: ago(time.Minute), Total: 5}
		switch {
		case i < running:
			r.State, r.StartedAt, r.Done = api.RunRunning, ago(30*time.Second), 2
			r.Tasks = []api.Task{{ID: "start", State: api.TaskSuccess, Attempt: 1}, {ID: "a", State: api.TaskRunning, Attempt: 1, StartedAt: ago(time.Second)}}
			s.Runs.Running = append(s.Runs.Running, r)
		case i%2 == 0:
			r.State, r.WaitReason = api.RunQueued, "max_concurrent_runs 5 reached"
			s.Runs.Queued = append(s.Runs.Queued, r)
		default:
			r.State, r.StartedAt, r.FinishedAt, r.Done = api.RunSuccess, ago(50*time.Second), ago(40*time.Second), 5
			s.Runs.Finished = append(s.Runs.Finished, r)
		}
	}
	s.Logs = make([]api.LogRecord, 2000)
	for i := range s.Logs {
		s.Logs[i] = api.LogRecord{Time: ago(time.Duration(2000-i) * time.Millisecond), Level: slog.LevelInfo, Msg: "run finished", Attrs: fmt.Sprintf("run=%d state=success", i)}
	}
	return s
}
