package dag

import (
	"encoding/json"
)

var (
	dagFields    = []string{"description", "enabled", "schedule", "tags", "max_active_runs", "priority", "retry_on_crash", "catch_up", "nodes", "edges", "sensors"}
	nodeFields   = []string{"id", "type", "config", "depends_on"}
	edgeFields   = []string{"from", "to"}
	sensorFields = []string{"type", "topic", "topics", "group", "max_batch_size", "max_tick_runtime", "tick_interval", "replicas", "fetch_min_bytes", "fetch_max_wait", "initial_offset", "max_queued"}
)

// built is a DAG read from a tree, with what validation needs beyond the
// model: each node's config as a tree (missing when absent) and which
// sensor settings the file spelled out.
type built struct {
	dag     *DAG
	configs []any
	sensors []sensorSeen
}

// sensorSeen records which defaulted settings a file set explicitly, so an
// explicit 0 is refused instead of silently becoming the default.
type sensorSeen struct {
	maxBatchSize, maxTickRuntime, tickInterval, replicas bool
}

// buildDAG reads the model out of a generic tree, reporting wrongly typed
// and unknown members. Required members and cross-references are left to
// validation, which sees both file forms and in-memory DAGs.
func buildDAG(c *collector, tree any) built {
	d := &DAG{File: c.file, Name: NameFromPath(c.file), Enabled: true}
	b := built{dag: d}
	top, ok := tree.(object)
	if !ok {
		c.add("", "", nil, "a DAG must be an object, not %s", typeName(tree))
		c.reported["/nodes"] = true
		return b
	}
	c.unknownFields("", "", top, dagFields...)
	if s, ok := c.str("", "/description", member(top, "description")); ok {
		d.Description = s
	}
	if v, ok := c.boolean("", "/enabled", member(top, "enabled")); ok {
		d.Enabled = v
	}
	if s, ok := c.str("", "/schedule", member(top, "schedule")); ok {
		d.Schedule = s
	}
	if m, ok := c.strMap("", "/tags", member(top, "tags")); ok {
		d.Tags = m
	}
	if n, ok := c.integer("", "/max_active_runs", member(top, "max_active_runs")); ok {
		d.MaxActiveRuns = n
	}
	if n, ok := c.integer("", "/priority", member(top, "priority")); ok {
		d.Priority = n
	}
	if v, ok := c.boolean("", "/retry_on_crash", member(top, "retry_on_crash")); ok {
		d.RetryOnCrash = v
	}
	if v, ok := c.boolean("", "/catch_up", member(top, "catch_up")); ok {
		d.CatchUp = v
	}

	nodesV := member(top, "nodes")
	if nodesV == missing {
		c.add("", "/nodes", nil, "is required: a DAG needs at least one node")
	} else if nodes, ok := c.array("", "/nodes", nodesV); ok {
		d.Nodes = make([]Node, len(nodes))
		b.configs = make([]any, len(nodes))
		for i, nv := range nodes {
			b.configs[i] = buildNode(c, ptrIndex("/nodes", i), nv, &d.Nodes[i])
		}
	}
	if edges, ok := c.array("", "/edges", member(top, "edges")); ok {
		d.Edges = make([]Edge, len(edges))
		for i, ev := range edges {
			buildEdge(c, ptrIndex("/edges", i), ev, &d.Edges[i])
		}
	}
	if sensors, ok := c.array("", "/sensors", member(top, "sensors")); ok {
		d.Sensors = make([]Sensor, len(sensors))
		b.sensors = make([]sensorSeen, len(sensors))
		for i, sv := range sensors {
			b.sensors[i] = buildSensor(c, ptrIndex("/sensors", i), sv, &d.Sensors[i])
		}
	}
	return b
}

// buildNode fills n and returns its config tree (missing when absent). A
// config of the wrong shape is reported by validation, which knows the kind.
func buildNode(c *collector, path string, v any, n *Node) any {
	m, ok := c.object("", path, v)
	if !ok {
		c.reported[path+"/id"] = true
		c.reported[path+"/type"] = true
		c.reported[path+"/config"] = true
		return missing
	}
	// The id first: every later error of this node names it.
	if s, ok := c.str("", path+"/id", member(m, "id")); ok {
		n.ID = s
	}
	c.unknownFields(n.ID, path, m, nodeFields...)
	if s, ok := c.str(n.ID, path+"/type", member(m, "type")); ok {
		n.Type = s
	}
	if deps, ok := c.strList(n.ID, path+"/depends_on", member(m, "depends_on")); ok {
		n.DependsOn = deps
	}
	cfg := member(m, "config")
	if cfg != missing {
		raw, err := json.Marshal(cfg)
		if err != nil {
			c.add(n.ID, path+"/config", nil, "cannot encode config: %v", err)
		} else {
			n.Config = raw
		}
	}
	return cfg
}

func buildEdge(c *collector, path string, v any, e *Edge) {
	m, ok := c.object("", path, v)
	if !ok {
		c.reported[path+"/from"] = true
		c.reported[path+"/to"] = true
		return
	}
	c.unknownFields("", path, m, edgeFields...)
	if s, ok := c.str("", path+"/from", member(m, "from")); ok {
		e.From = s
	}
	if s, ok := c.str("", path+"/to", member(m, "to")); ok {
		e.To = s
	}
}

func buildSensor(c *collector, path string, v any, s *Sensor) sensorSeen {
	var seen sensorSeen
	m, ok := c.object("", path, v)
	if !ok {
		c.reported[path+"/type"] = true
		c.reported[path+"/topic"] = true
		return seen
	}
	c.unknownFields("", path, m, sensorFields...)
	if v, ok := c.str("", path+"/type", member(m, "type")); ok {
		s.Type = v
	}
	if v, ok := c.str("", path+"/topic", member(m, "topic")); ok {
		s.Topic = v
	}
	if v, ok := c.strList("", path+"/topics", member(m, "topics")); ok {
		s.Topics = v
	}
	if v, ok := c.str("", path+"/group", member(m, "group")); ok {
		s.Group = v
	}
	if v, ok := c.integer("", path+"/max_batch_size", member(m, "max_batch_size")); ok {
		s.MaxBatchSize, seen.maxBatchSize = v, true
	}
	if v, ok := c.duration("", path+"/max_tick_runtime", member(m, "max_tick_runtime")); ok {
		s.MaxTickRuntime, seen.maxTickRuntime = v, true
	}
	if v, ok := c.duration("", path+"/tick_interval", member(m, "tick_interval")); ok {
		s.TickInterval, seen.tickInterval = v, true
	}
	if v, ok := c.integer("", path+"/replicas", member(m, "replicas")); ok {
		s.Replicas, seen.replicas = v, true
	}
	if v, ok := c.integer("", path+"/fetch_min_bytes", member(m, "fetch_min_bytes")); ok {
		s.FetchMinBytes = int32(v)
	}
	if v, ok := c.duration("", path+"/fetch_max_wait", member(m, "fetch_max_wait")); ok {
		s.FetchMaxWait = v
	}
	if v, ok := c.str("", path+"/initial_offset", member(m, "initial_offset")); ok {
		s.InitialOffset = v
	}
	if v, ok := c.integer("", path+"/max_queued", member(m, "max_queued")); ok {
		s.MaxQueued = v
	}
	return seen
}
