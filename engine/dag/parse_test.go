package dag

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const etlJSON = `{
  "description": "Daily ETL",
  "schedule": "0 3 * * *",
  "tags": {"team": "data"},
  "max_active_runs": 1,
  "nodes": [
    {"id": "extract", "type": "local", "config": {"command": ["./bin/extract"], "timeout": 300, "retry": 3}},
    {"id": "load", "type": "lambda", "config": {"function_name": "load-warehouse"}, "depends_on": ["extract"]},
    {"id": "report", "type": "local", "config": {"command": "echo done", "timeout": "1m30s"}}
  ],
  "edges": [{"from": "load", "to": "report"}],
  "sensors": [{"type": "kafka", "topic": "events", "max_tick_runtime": "5s"}]
}`

func TestParseJSONValid(t *testing.T) {
	t.Parallel()
	d, err := Parse("prod/etl.json", []byte(etlJSON), Options{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d.Name != "prod/etl" || d.File != "prod/etl.json" || !d.Enabled {
		t.Errorf("name %q file %q enabled %v", d.Name, d.File, d.Enabled)
	}
	local, ok := d.Nodes[0].Task.(*LocalTask)
	if !ok {
		t.Fatalf("extract task is %T", d.Nodes[0].Task)
	}
	if local.Timeout.D() != 300*time.Second || local.Retry != 3 || local.RetryBackoff.D() != DefaultRetryBackoff {
		t.Errorf("extract common = %+v", local.TaskCommon)
	}
	report := d.Nodes[2].Task.(*LocalTask)
	if !reflect.DeepEqual(report.Argv, []string{"sh", "-c", "echo done"}) || report.Timeout.D() != 90*time.Second {
		t.Errorf("report = %+v", report)
	}
	lambda := d.Nodes[1].Task.(*LambdaTask)
	if lambda.FunctionName != "load-warehouse" || lambda.InvocationType != InvokeRequestResponse {
		t.Errorf("lambda = %+v", lambda)
	}
	if got := d.TopoOrder(); !reflect.DeepEqual(got, []string{"extract", "load", "report"}) {
		t.Errorf("TopoOrder = %v", got)
	}
	if got := d.Parents("report"); !reflect.DeepEqual(got, []string{"load"}) {
		t.Errorf("Parents(report) = %v", got)
	}
	s := d.Sensors[0]
	if !reflect.DeepEqual(s.Topics, []string{"events"}) || s.MaxBatchSize != DefaultMaxBatchSize ||
		s.MaxTickRuntime.D() != 5*time.Second || s.TickInterval.D() != DefaultTickInterval || s.Replicas != 1 {
		t.Errorf("sensor = %+v", s)
	}
	after := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if got, want := d.NextFire(after), time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextFire = %v, want %v", got, want)
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	t.Parallel()
	src := `{"nodes": [
	  {"id": "a", "type": "local", "config": {}},
	  {"id": "b", "type": "lambda", "config": {}, "depends_on": ["zzz"]},
	  {"id": "a", "type": "nope", "config": {}}
	]}`
	_, err := Parse("x.json", []byte(src), Options{})
	es := AsErrors("x.json", err)
	want := []string{
		`x.json: node "a": /nodes/0/config/command: is required`,
		`x.json: node "b": /nodes/1/config/function_name: is required`,
		`x.json: node "b": /nodes/1/depends_on/0: unknown node "zzz"`,
		`x.json: node "a": /nodes/2/id: duplicate id "a"`,
		`x.json: node "a": /nodes/2/type: unknown task type "nope"`,
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, es[i].Error(), w)
		}
	}
}

func TestParseCycle(t *testing.T) {
	t.Parallel()
	src := `{"nodes": [
	  {"id": "c", "type": "sluice.noop", "config": {}, "depends_on": ["b"]},
	  {"id": "a", "type": "sluice.noop", "config": {}, "depends_on": ["c"]},
	  {"id": "b", "type": "sluice.noop", "config": {}, "depends_on": ["a"]}
	]}`
	_, err := Parse("x.json", []byte(src), Options{})
	if !errors.Is(err, ErrCycle) {
		t.Fatalf("err = %v, want ErrCycle", err)
	}
	if !strings.Contains(err.Error(), "a → b → c → a") {
		t.Errorf("err = %v, want the cycle a → b → c → a", err)
	}
}

func TestParseSyntaxErrorPosition(t *testing.T) {
	t.Parallel()
	_, err := Parse("x.json", []byte("{\n  \"nodes\": [,]\n}"), Options{})
	es := AsErrors("x.json", err)
	if len(es) != 1 || es[0].Line != 2 || es[0].Col != 13 || !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v (line %d col %d)", err, es[0].Line, es[0].Col)
	}
}

func TestParseStarlark(t *testing.T) {
	t.Parallel()
	src := `
nodes = []
for i in range(3):
    nodes.append({"id": "step%d" % i, "type": "local", "config": {"command": ["echo", env("WHO", "nobody")]},
                  "depends_on": ["step%d" % (i - 1)] if i > 0 else []})
dag = {"description": "generated", "nodes": nodes}
`
	env := func(name string) (string, bool) { return "ops", name == "WHO" }
	d, err := Parse("gen.star", []byte(src), Options{Env: env, EnvAllow: []string{"WHO"}})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := d.TopoOrder(); !reflect.DeepEqual(got, []string{"step0", "step1", "step2"}) {
		t.Errorf("TopoOrder = %v", got)
	}
	if argv := d.Nodes[2].Task.(*LocalTask).Argv; !reflect.DeepEqual(argv, []string{"echo", "ops"}) {
		t.Errorf("argv = %v", argv)
	}
}

func TestValidateInMemory(t *testing.T) {
	t.Parallel()
	d := &DAG{File: "mem", Nodes: []Node{
		{ID: "b", Type: KindSleep, Config: []byte(`{"duration": "1s"}`), DependsOn: []string{"a"}},
		{ID: "a", Type: KindNoop, Config: []byte(`{}`)},
	}}
	if err := Validate(d); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if s, ok := d.Nodes[0].Task.(*SleepTask); !ok || s.Duration.D() != time.Second {
		t.Errorf("task = %#v", d.Nodes[0].Task)
	}
	if _, ok := d.Nodes[1].Task.(*BuiltinTask); !ok {
		t.Errorf("noop task = %T", d.Nodes[1].Task)
	}
	if got := d.TopoOrder(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("TopoOrder = %v", got)
	}
}
