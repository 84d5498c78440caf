package loader

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
)

func TestDefViewSumsUpEveryKind(t *testing.T) {
	t.Parallel()
	src := `{
	  "description": "orders", "schedule": "0 3 * * *", "tags": {"team": "core"}, "max_active_runs": 2, "priority": 5,
	  "nodes": [
	    {"id": "extract", "type": "local", "config": {"command": "./extract --all", "timeout": "1m", "retry": 2}},
	    {"id": "invoke", "type": "lambda", "config": {"function_name": "fn"}, "depends_on": ["extract"]},
	    {"id": "nap", "type": "sluice.sleep", "config": {"duration": "2s", "fail_times": 1}},
	    {"id": "done", "type": "sluice.noop", "config": {}, "depends_on": ["invoke", "nap"]}
	  ],
	  "edges": [{"from": "extract", "to": "nap"}, {"from": "invoke", "to": "done"}],
	  "sensors": [{"type": "kafka", "topic": "orders"}]
	}`
	d, err := dag.Parse("orders.json", []byte(src), dag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := DefView(d)
	want := []api.Node{
		{ID: "extract", Kind: "local", Command: "sh -c ./extract --all", Summary: "timeout 1m0s · retry 2"},
		{ID: "invoke", Kind: "lambda", DependsOn: []string{"extract"}, Summary: "fn"},
		{ID: "nap", Kind: "sluice.sleep", DependsOn: []string{"extract"}, Summary: "sleep 2s · fails 1×"},
		{ID: "done", Kind: "sluice.noop", DependsOn: []string{"invoke", "nap"}},
	}
	if !reflect.DeepEqual(v.Nodes, want) {
		t.Errorf("nodes\n got %+v\nwant %+v", v.Nodes, want)
	}
	if len(v.Sensors) != 1 || v.Sensors[0].Summary != "kafka orders · batch 500 · tick 10s · replicas 1" ||
		!reflect.DeepEqual(v.Sensors[0].Topics, []string{"orders"}) {
		t.Errorf("sensors %+v", v.Sensors)
	}
	if v.Description != "orders" || v.Schedule != "0 3 * * *" || !v.Enabled || v.MaxActiveRuns != 2 || v.Priority != 5 ||
		v.Tags["team"] != "core" {
		t.Errorf("fields %+v", v)
	}
	js, _ := json.MarshalIndent(d, "", "  ")
	if v.Definition != string(js) {
		t.Errorf("definition\n%s\nwant\n%s", v.Definition, js)
	}
	// The view shares nothing mutable with the definition the runner uses.
	v.Tags["team"] = "x"
	if d.Tags["team"] != "core" {
		t.Error("the view's tags alias the definition's")
	}
}
