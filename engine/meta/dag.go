package meta

import (
	"encoding/json"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
)

// DAGName is the built-in metapipeline DAG's name.
const DAGName = api.MetaDAG

// DAG returns the built-in metapipeline DAG: one node per step, of kind
// sluice.meta.<step>, depending on the steps it needs. Reading dbt and
// reading the BI workspace start together; centrality runs beside the BI
// linking. schedule is a cron expression, empty for manual runs only.
func DAG(schedule string) *dag.DAG {
	d := &dag.DAG{
		Name:          DAGName,
		File:          "builtin:metapipeline",
		Description:   "Metapipeline: stale BI reports, unused dbt models, centrality, exposures",
		Enabled:       true,
		Schedule:      schedule,
		Tags:          map[string]string{"builtin": "true", "team": "platform"},
		MaxActiveRuns: 1,
	}
	for _, s := range steps {
		d.Nodes = append(d.Nodes, dag.Node{
			ID:        s.Name,
			Type:      s.Kind(),
			Config:    json.RawMessage(`{}`),
			DependsOn: append([]string(nil), s.Needs...),
		})
	}
	return d
}
