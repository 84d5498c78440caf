package loader

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
)

// DefView is a validated DAG as the read model shows it. The registry
// computes it once per loaded version, so the console renders summaries
// without knowing task kinds and shares no pointer with the definitions the
// runner executes.
func DefView(d *dag.DAG) *api.DAGDef {
	v := &api.DAGDef{
		Description:   d.Description,
		Enabled:       d.Enabled,
		Schedule:      d.Schedule,
		MaxActiveRuns: d.MaxActiveRuns,
		Priority:      d.Priority,
		Nodes:         make([]api.Node, len(d.Nodes)),
	}
	if len(d.Tags) > 0 {
		v.Tags = make(map[string]string, len(d.Tags))
		for k, t := range d.Tags {
			v.Tags[k] = t
		}
	}
	for i, n := range d.Nodes {
		v.Nodes[i] = nodeView(d, n)
	}
	for _, s := range d.Sensors {
		topics := s.Topics
		if len(topics) == 0 && s.Topic != "" {
			topics = []string{s.Topic}
		}
		v.Sensors = append(v.Sensors, api.SensorSpec{
			Type:   s.Type,
			Topics: append([]string(nil), topics...),
			Group:  s.Group,
			Summary: fmt.Sprintf("%s %s · batch %d · tick %s · replicas %d",
				s.Type, strings.Join(topics, ","), s.MaxBatchSize, s.TickInterval.D(), s.Replicas),
		})
	}
	js, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		v.Definition = err.Error()
	} else {
		v.Definition = string(js)
	}
	return v
}

// nodeView sums up one node: its dependencies from depends_on and edges,
// and its settings on one line.
func nodeView(d *dag.DAG, n dag.Node) api.Node {
	v := api.Node{ID: n.ID, Kind: n.Type, DependsOn: parents(d, n.ID)}
	var parts []string
	var c dag.TaskCommon
	switch t := n.Task.(type) {
	case *dag.LocalTask:
		// The whole command is in the definition; the console shortens it.
		v.Command = strings.Join(t.Argv, " ")
		c = t.TaskCommon
	case *dag.LambdaTask:
		parts = append(parts, t.FunctionName)
		c = t.TaskCommon
	case *dag.SleepTask:
		parts = append(parts, "sleep "+t.Duration.D().String())
		if t.FailTimes > 0 {
			parts = append(parts, fmt.Sprintf("fails %d×", t.FailTimes))
		}
		c = t.TaskCommon
	case *dag.BuiltinTask:
		c = t.TaskCommon
	default:
		return v
	}
	if c.Timeout > 0 {
		parts = append(parts, "timeout "+c.Timeout.D().String())
	}
	if c.Retry > 0 {
		parts = append(parts, fmt.Sprintf("retry %d", c.Retry))
	}
	v.Summary = strings.Join(parts, " · ")
	return v
}

// parents lists a node's dependencies from both depends_on and edges, in
// file order, without duplicates, so the console shows the dependencies of
// the last good version of any file.
func parents(d *dag.DAG, id string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range d.Nodes {
		if n.ID != id {
			continue
		}
		for _, p := range n.DependsOn {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, e := range d.Edges {
		if e.To == id && !seen[e.From] {
			seen[e.From] = true
			out = append(out, e.From)
		}
	}
	return out
}
