package dag

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// nodeJSON is a valid node for building test DAGs.
func nodeJSON(id string, extra string) string {
	return `{"id": "` + id + `", "type": "sluice.noop", "config": {}` + extra + `}`
}

func TestValidationRules(t *testing.T) {
	t.Parallel()
	ok := nodeJSON("a", "")
	local := func(cfg string) string { return `{"nodes": [{"id": "a", "type": "local", "config": ` + cfg + `}]}` }
	sensor := func(s string) string { return `{"nodes": [` + ok + `], "sensors": [` + s + `]}` }
	tests := []struct {
		name string
		src  string
		want []string // substrings of each error, in order; none: valid
	}{
		// Shape of the file.
		{"object required", `[]`, []string{"a DAG must be an object, not an array"}},
		{"unknown top field", `{"nodes": [` + ok + `], "owner": "me"}`, []string{`/owner: unknown field "owner"`}},
		{"unknown node field", `{"nodes": [` + nodeJSON("a", `, "deps": []`) + `]}`, []string{`node "a": /nodes/0/deps: unknown field`}},
		{"unknown edge field", `{"nodes": [` + ok + `], "edges": [{"from": "a", "to": "a", "weight": 1}]}`, []string{`/edges/0: edge from a node to itself`, `/edges/0/weight: unknown field`}},
		{"description type", `{"description": [], "nodes": [` + ok + `]}`, []string{"/description: must be a string, not an array"}},
		{"enabled type", `{"enabled": 1, "nodes": [` + ok + `]}`, []string{"/enabled: must be true or false, not a number"}},
		{"tags type", `{"tags": ["a"], "nodes": [` + ok + `]}`, []string{"/tags: must be an object, not an array"}},
		{"tag value type", `{"tags": {"a": true}, "nodes": [` + ok + `]}`, []string{"/tags/a: must be a string, not a boolean"}},
		{"empty tag name", `{"tags": {" ": "x"}, "nodes": [` + ok + `]}`, []string{"/tags/ : tag name must not be empty"}},
		{"priority fraction", `{"priority": 1.5, "nodes": [` + ok + `]}`, []string{"/priority: must be a whole number, not 1.5"}},
		{"priority overflow", `{"priority": 99999999999999999999, "nodes": [` + ok + `]}`, []string{"/priority: number 99999999999999999999 is out of range"}},
		{"negative max_active_runs", `{"max_active_runs": -2, "nodes": [` + ok + `]}`, []string{"/max_active_runs: must not be negative, got -2"}},
		{"zero max_active_runs", `{"max_active_runs": 0, "nodes": [` + ok + `]}`, nil},

		// Nodes.
		{"nodes missing", `{}`, []string{"/nodes: is required"}},
		{"nodes empty", `{"nodes": []}`, []string{"/nodes: must contain at least one node"}},
		{"nodes null", `{"nodes": null}`, []string{"/nodes: must be an array, not null"}},
		{"node not object", `{"nodes": [` + ok + `, 7]}`, []string{"/nodes/1: must be an object, not a number"}},
		{"id missing", `{"nodes": [{"type": "sluice.noop", "config": {}}]}`, []string{"/nodes/0/id: is required"}},
		{"id wrong type", `{"nodes": [{"id": 1, "type": "sluice.noop", "config": {}}]}`, []string{"/nodes/0/id: must be a string, not a number"}},
		{"id with slash", `{"nodes": [` + nodeJSON("a/b", "") + `]}`, []string{`/nodes/0/id: invalid id "a/b"`}},
		{"id starting with dash", `{"nodes": [` + nodeJSON("-a", "") + `]}`, []string{`invalid id "-a"`}},
		{"id too long", `{"nodes": [` + nodeJSON(strings.Repeat("x", 129), "") + `]}`, []string{"invalid id"}},
		{"id sane characters", `{"nodes": [` + nodeJSON("Load_2024-01.v2", "") + `]}`, nil},
		{"duplicate id", `{"nodes": [` + ok + `,` + nodeJSON("b", "") + `,` + ok + `]}`, []string{`node "a": /nodes/2/id: duplicate id "a" (first used at /nodes/0)`}},
		{"type missing", `{"nodes": [{"id": "a", "config": {}}]}`, []string{`node "a": /nodes/0/type: is required`}},
		{"type unknown", `{"nodes": [{"id": "a", "type": "bash", "config": {}}]}`, []string{`unknown task type "bash"`}},
		{"type sluice prefix only", `{"nodes": [{"id": "a", "type": "sluice.", "config": {}}]}`, []string{`unknown task type "sluice."`}},
		{"type builtin uppercase", `{"nodes": [{"id": "a", "type": "sluice.Noop", "config": {}}]}`, []string{`unknown task type "sluice.Noop"`}},
		{"type meta builtin", `{"nodes": [{"id": "a", "type": "sluice.meta.read_bi", "config": {"anything": [1, 2]}}]}`, nil},
		{"config missing", `{"nodes": [{"id": "a", "type": "sluice.noop"}]}`, []string{`/nodes/0/config: is required`}},
		{"config not object", `{"nodes": [{"id": "a", "type": "sluice.noop", "config": []}]}`, []string{`/nodes/0/config: must be an object, not an array`}},
		{"config not object, unknown kind", `{"nodes": [{"id": "a", "type": "x", "config": 1}]}`, []string{`/nodes/0/config: must be an object, not a number`, `unknown task type "x"`}},

		// Dependencies.
		{"depends_on unknown", `{"nodes": [` + nodeJSON("a", `, "depends_on": ["b"]`) + `]}`, []string{`node "a": /nodes/0/depends_on/0: unknown node "b"`}},
		{"depends_on self", `{"nodes": [` + nodeJSON("a", `, "depends_on": ["a"]`) + `]}`, []string{`/nodes/0/depends_on/0: node depends on itself`}},
		{"depends_on empty name", `{"nodes": [` + nodeJSON("a", `, "depends_on": [""]`) + `]}`, []string{`/nodes/0/depends_on/0: must not be empty`}},
		{"depends_on wrong type", `{"nodes": [` + nodeJSON("a", `, "depends_on": [1]`) + `]}`, []string{`/nodes/0/depends_on/0: must be a string, not a number`}},
		{"edge unknown from", `{"nodes": [` + ok + `], "edges": [{"from": "x", "to": "a"}]}`, []string{`/edges/0/from: unknown node "x"`}},
		{"edge unknown to", `{"nodes": [` + ok + `], "edges": [{"from": "a", "to": "x"}]}`, []string{`/edges/0/to: unknown node "x"`}},
		{"edge missing ends", `{"nodes": [` + ok + `], "edges": [{}]}`, []string{`/edges/0/from: is required`, `/edges/0/to: is required`}},
		{"edge not object", `{"nodes": [` + ok + `], "edges": ["a->b"]}`, []string{`/edges/0: must be an object, not a string`}},
		{"self-loop edge", `{"nodes": [` + ok + `], "edges": [{"from": "a", "to": "a"}]}`, []string{`node "a": /edges/0: edge from a node to itself`}},
		{"cycle", `{"nodes": [` + nodeJSON("b", `, "depends_on": ["a"]`) + `,` + nodeJSON("a", `, "depends_on": ["b"]`) + `]}`,
			[]string{`node "a": /nodes/1: dependency cycle: a → b → a`}},
		{"two cycles", `{"nodes": [` + nodeJSON("a", `, "depends_on": ["b"]`) + `,` + nodeJSON("b", `, "depends_on": ["a"]`) + `,` +
			nodeJSON("c", `, "depends_on": ["d"]`) + `,` + nodeJSON("d", `, "depends_on": ["c"]`) + `]}`,
			[]string{`dependency cycle: a → b → a`, `dependency cycle: c → d → c`}},
		{"cycle through edges", `{"nodes": [` + ok + `,` + nodeJSON("b", "") + `,` + nodeJSON("c", "") + `], "edges": [` +
			`{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "a"}]}`, []string{`dependency cycle: a → b → c → a`}},

		// Common task settings.
		{"timeout seconds", local(`{"command": ["true"], "timeout": 30}`), nil},
		{"timeout string", local(`{"command": ["true"], "timeout": "1h2m"}`), nil},
		{"timeout negative", local(`{"command": ["true"], "timeout": -1}`), []string{"/nodes/0/config/timeout: must not be negative, got -1"}},
		{"timeout negative string", local(`{"command": ["true"], "timeout": "-3s"}`), []string{"/nodes/0/config/timeout: must not be negative, got -3s"}},
		{"timeout fraction", local(`{"command": ["true"], "timeout": 1.5}`), []string{`invalid duration 1.5`}},
		{"timeout unparsable", local(`{"command": ["true"], "timeout": "soon"}`), []string{`invalid duration "soon"`}},
		{"timeout wrong type", local(`{"command": ["true"], "timeout": true}`), []string{`must be a duration ("1m30s" or whole seconds), not a boolean`}},
		{"timeout huge", local(`{"command": ["true"], "timeout": 99999999999999}`), []string{`out of range`}},
		{"retry negative", local(`{"command": ["true"], "retry": -1}`), []string{"/nodes/0/config/retry: must not be negative"}},
		{"retry too many", local(`{"command": ["true"], "retry": 5000}`), []string{"/nodes/0/config/retry: must be at most 1000"}},
		{"retry_backoff negative", local(`{"command": ["true"], "retry_backoff": -1}`), []string{"/nodes/0/config/retry_backoff: must not be negative"}},

		// local.
		{"local argv", local(`{"command": ["echo", "hi"]}`), nil},
		{"local string", local(`{"command": "echo hi | wc -c"}`), nil},
		{"local command missing", local(`{}`), []string{`node "a": /nodes/0/config/command: is required for a local task`}},
		{"local command empty array", local(`{"command": []}`), []string{"/nodes/0/config/command: must not be empty"}},
		{"local command empty string", local(`{"command": ""}`), []string{"/nodes/0/config/command: must not be empty"}},
		{"local command empty program", local(`{"command": ["", "x"]}`), []string{"/nodes/0/config/command/0: program name must not be empty"}},
		{"local command null", local(`{"command": null}`), []string{"must be an argv array or a shell string, not null"}},
		{"local command NUL", local(`{"command": ["echo", "a\u0000b"]}`), []string{"/nodes/0/config/command/1: must not contain a NUL byte"}},
		{"local env wrong type", local(`{"command": ["true"], "env": {"A": 1}}`), []string{"/nodes/0/config/env/A: must be a string, not a number"}},
		{"local env bad name", local(`{"command": ["true"], "env": {"": "x"}}`), []string{`invalid environment variable name ""`}},
		{"local dir wrong type", local(`{"command": ["true"], "dir": 1}`), []string{"/nodes/0/config/dir: must be a string"}},
		{"local unknown field", local(`{"command": ["true"], "function_name": "f"}`), []string{`/nodes/0/config/function_name: unknown field`}},

		// lambda.
		{"lambda ok", `{"nodes": [{"id": "a", "type": "lambda", "config": {"function_name": "f", "invocation_type": "Event"}}]}`, nil},
		{"lambda function missing", `{"nodes": [{"id": "a", "type": "lambda", "config": {}}]}`, []string{"/nodes/0/config/function_name: is required for a lambda task"}},
		{"lambda function empty", `{"nodes": [{"id": "a", "type": "lambda", "config": {"function_name": " "}}]}`, []string{"/nodes/0/config/function_name: must not be empty"}},
		{"lambda invocation type", `{"nodes": [{"id": "a", "type": "lambda", "config": {"function_name": "f", "invocation_type": "event"}}]}`, []string{`must be "RequestResponse" or "Event", not "event"`}},

		// sluice.sleep.
		{"sleep ok", `{"nodes": [{"id": "a", "type": "sluice.sleep", "config": {"duration": 2, "fail_times": 1}}]}`, nil},
		{"sleep duration missing", `{"nodes": [{"id": "a", "type": "sluice.sleep", "config": {}}]}`, []string{"/nodes/0/config/duration: is required for a sluice.sleep task"}},
		{"sleep fail_times negative", `{"nodes": [{"id": "a", "type": "sluice.sleep", "config": {"duration": "1s", "fail_times": -1}}]}`, []string{"/nodes/0/config/fail_times: must not be negative"}},
		{"builtin common settings checked", `{"nodes": [{"id": "a", "type": "sluice.noop", "config": {"retry": "x"}}]}`, []string{"/nodes/0/config/retry: must be a whole number, not a string"}},

		// Schedules.
		{"cron five fields", `{"schedule": "*/5 * * * 1-5", "nodes": [` + ok + `]}`, nil},
		{"cron descriptor", `{"schedule": "@daily", "nodes": [` + ok + `]}`, nil},
		{"cron every", `{"schedule": "@every 10s", "nodes": [` + ok + `]}`, nil},
		{"cron six fields", `{"schedule": "0 0 3 * * *", "nodes": [` + ok + `]}`, []string{`/schedule: "0 0 3 * * *" is not a cron expression`}},
		{"cron out of range", `{"schedule": "0 25 * * *", "nodes": [` + ok + `]}`, []string{`/schedule: "0 25 * * *" is not a cron expression`}},
		{"cron bad descriptor", `{"schedule": "@sometimes", "nodes": [` + ok + `]}`, []string{`/schedule: "@sometimes" is not a cron expression`}},

		// Sensors.
		{"sensor ok", sensor(`{"type": "kafka", "topics": ["a", "b"]}`), nil},
		{"sensor not object", sensor(`"kafka"`), []string{"/sensors/0: must be an object, not a string"}},
		{"sensor type missing", sensor(`{"topic": "a"}`), []string{"/sensors/0/type: is required"}},
		{"sensor type unknown", sensor(`{"type": "sqs", "topic": "a"}`), []string{`/sensors/0/type: unknown sensor type "sqs"`}},
		{"sensor topic missing", sensor(`{"type": "kafka"}`), []string{"/sensors/0/topic: is required (topic or topics)"}},
		{"sensor topics empty", sensor(`{"type": "kafka", "topics": []}`), []string{"/sensors/0/topic: is required (topic or topics)"}},
		{"sensor topic invalid", sensor(`{"type": "kafka", "topic": ".."}`), []string{`/sensors/0/topic: invalid Kafka topic name ".."`}},
		{"sensor topics invalid", sensor(`{"type": "kafka", "topics": ["ok", "not ok"]}`), []string{`/sensors/0/topics/1: invalid Kafka topic name "not ok"`}},
		{"sensor batch zero", sensor(`{"type": "kafka", "topic": "a", "max_batch_size": 0}`), []string{"/sensors/0/max_batch_size: must be at least 1, got 0"}},
		{"sensor batch huge", sensor(`{"type": "kafka", "topic": "a", "max_batch_size": 2000000}`), []string{"/sensors/0/max_batch_size: must be at most 1000000"}},
		{"sensor tick runtime zero", sensor(`{"type": "kafka", "topic": "a", "max_tick_runtime": 0}`), []string{"/sensors/0/max_tick_runtime: must be positive"}},
		{"sensor tick interval negative", sensor(`{"type": "kafka", "topic": "a", "tick_interval": -1}`), []string{"/sensors/0/tick_interval: must not be negative"}},
		{"sensor replicas zero", sensor(`{"type": "kafka", "topic": "a", "replicas": 0}`), []string{"/sensors/0/replicas: must be at least 1, got 0"}},
		{"sensor replicas huge", sensor(`{"type": "kafka", "topic": "a", "replicas": 65}`), []string{"/sensors/0/replicas: must be at most 64"}},
		{"sensor fetch_min_bytes negative", sensor(`{"type": "kafka", "topic": "a", "fetch_min_bytes": -1}`), []string{"/sensors/0/fetch_min_bytes: must not be negative"}},
		{"sensor fetch_max_wait negative", sensor(`{"type": "kafka", "topic": "a", "fetch_max_wait": "-1ms"}`), []string{"/sensors/0/fetch_max_wait: must not be negative"}},
		{"sensor initial offset", sensor(`{"type": "kafka", "topic": "a", "initial_offset": "earliest"}`), []string{`/sensors/0/initial_offset: must be "oldest" or "newest"`}},
		{"sensor max_queued negative", sensor(`{"type": "kafka", "topic": "a", "max_queued": -1}`), []string{"/sensors/0/max_queued: must not be negative"}},
		{"sensor unknown field", sensor(`{"type": "kafka", "topic": "a", "partitions": 3}`), []string{`/sensors/0/partitions: unknown field`}},

		// Paths stay unambiguous when keys hold JSON-pointer characters.
		{"pointer escaping", `{"nodes": [` + ok + `], "a/b~c": 1}`, []string{`/a~1b~0c: unknown field "a/b~c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse("t.json", []byte(tt.src), Options{})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if d != nil {
				t.Errorf("Parse returned a DAG with errors")
			}
			es := AsErrors("t.json", err)
			checkErrors(t, "t.json", es)
			if len(es) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(es[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, es[i].Error(), w)
				}
			}
		})
	}
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want error
	}{
		{`{`, ErrSyntax},
		{`{"nodes": []}`, ErrInvalid},
		{`{"nodes": [` + nodeJSON("a", `, "depends_on": ["b"]`) + `,` + nodeJSON("b", `, "depends_on": ["a"]`) + `]}`, ErrCycle},
	}
	for _, tt := range tests {
		_, err := Parse("s.json", []byte(tt.src), Options{})
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse(%s) = %v, want %v", tt.src, err, tt.want)
		}
	}
	_, err := Parse("s.star", []byte("dag = 1 // 0"), Options{})
	if !errors.Is(err, ErrScript) {
		t.Errorf("starlark runtime error = %v, want ErrScript", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	src := `{"nodes": [
	  {"id": "l", "type": "local", "config": {"command": ["true"]}},
	  {"id": "f", "type": "lambda", "config": {"function_name": "fn", "payload": {"k": [1, "{{run_config}}"]}}}
	], "sensors": [{"type": "kafka", "topic": "t", "topics": ["u", "t"]}]}`
	d, err := Parse("d.json", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Enabled {
		t.Error("enabled should default to true")
	}
	l := d.Nodes[0].Task.(*LocalTask)
	if l.Timeout != 0 || l.Retry != 0 || l.RetryBackoff.D() != DefaultRetryBackoff {
		t.Errorf("local defaults = %+v", l.TaskCommon)
	}
	f := d.Nodes[1].Task.(*LambdaTask)
	if f.InvocationType != InvokeRequestResponse {
		t.Errorf("invocation type = %q", f.InvocationType)
	}
	var payload any
	if err := json.Unmarshal(f.Payload, &payload); err != nil || !reflect.DeepEqual(payload, map[string]any{"k": []any{1.0, "{{run_config}}"}}) {
		t.Errorf("payload = %s (%v)", f.Payload, err)
	}
	s := d.Sensors[0]
	want := Sensor{Type: "kafka", Topic: "t", Topics: []string{"t", "u"}, MaxBatchSize: DefaultMaxBatchSize,
		MaxTickRuntime: Duration(DefaultMaxTickRuntime), TickInterval: Duration(DefaultTickInterval),
		Replicas: DefaultReplicas, InitialOffset: "oldest"}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("sensor = %+v\nwant     %+v", s, want)
	}
	if got := d.NextFire(time.Now()); !got.IsZero() {
		t.Errorf("NextFire without schedule = %v, want zero", got)
	}

	off, err := Parse("d.json", []byte(`{"enabled": false, "nodes": [`+nodeJSON("a", "")+`]}`), Options{})
	if err != nil || off.Enabled {
		t.Errorf("enabled false: %v, %v", off, err)
	}
}

func TestValidateInMemoryErrors(t *testing.T) {
	t.Parallel()
	d := &DAG{File: "mem", Nodes: []Node{
		{ID: "a", Type: KindLocal, Config: []byte(`{"command": `)},
		{ID: "b", Type: KindLocal},
		{ID: "c", Type: KindSleep, Config: []byte(`{"duration": "1s"}`), DependsOn: []string{"c"}},
	}, Sensors: []Sensor{{Type: SensorKafka, Topic: "t", Replicas: -1, TickInterval: Duration(-time.Second)}}}
	err := Validate(d)
	es := AsErrors("mem", err)
	checkErrors(t, "mem", es)
	want := []string{
		`node "a": /nodes/0/config: invalid JSON`,
		`node "b": /nodes/1/config: is required`,
		`node "c": /nodes/2/depends_on/0: node depends on itself`,
		`/sensors/0/replicas: must be at least 1`,
		`/sensors/0/tick_interval: must be positive`,
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(es[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, es[i].Error(), w)
		}
	}
}

func TestErrorsAreDeterministic(t *testing.T) {
	t.Parallel()
	src := `{"zz": 1, "aa": 2, "mm": 3, "tags": {"b": 1, "a": 2}, "nodes": [
	  {"id": "x", "type": "local", "config": {"q": 1, "p": 2, "command": []}, "depends_on": ["n1", "n2"]},
	  {"id": "y", "type": "nope", "config": {}}
	]}`
	first, _ := Parse("d.json", []byte(src), Options{})
	_, err := Parse("d.json", []byte(src), Options{})
	want := err.Error()
	for i := 0; i < 20; i++ {
		_, err := Parse("d.json", []byte(src), Options{})
		if err.Error() != want {
			t.Fatalf("run %d:\n%v\nwant\n%v", i, err, want)
		}
	}
	if first != nil {
		t.Error("invalid DAG returned")
	}
	if n := len(AsErrors("d.json", err)); n != 11 {
		t.Errorf("got %d errors, want 11:\n%v", n, err)
	}
}
