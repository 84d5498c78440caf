package api

// DAGDef is the read model's view of one validated version of a DAG file:
// what the console shows of it, computed once when the version loads. It
// holds no engine value, so a front end renders it without knowing task
// kinds and shares no pointer with the engine.
type DAGDef struct {
	Description   string
	Enabled       bool
	Schedule      string // cron expression or @every; empty when unscheduled
	Tags          map[string]string
	MaxActiveRuns int
	Priority      int
	Nodes         []Node       // in file order
	Sensors       []SensorSpec // in file order
	// Definition is the validated definition as indented JSON, with every
	// default filled in.
	Definition string
}

// Node is one task of a DAG.
type Node struct {
	ID   string
	Kind string // the task type: "local", "lambda", "sluice.sleep" …
	// DependsOn lists the node's dependencies from both depends_on and
	// edges, in file order, without duplicates.
	DependsOn []string
	// Command is a local task's command line (argv joined by spaces), which
	// the console shortens to fit; empty for other kinds.
	Command string
	// Summary is the rest of the task's settings on one line ("sleep 2s ·
	// fails 2× · retry 3"); empty when there is nothing to say.
	Summary string
}

// SensorSpec is one sensor as the DAG file declares it.
type SensorSpec struct {
	Type   string
	Topics []string
	Group  string
	// Summary is the sensor's settings on one line ("kafka orders · batch
	// 500 · tick 10s · replicas 1").
	Summary string
}
