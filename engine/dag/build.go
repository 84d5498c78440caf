package dag

var (
	dagFields    = []string{"description", "enabled", "schedule", "tags", "max_active_runs", "priority", "retry_on_crash", "catch_up", "nodes", "edges", "sensors"}
	nodeFields   = []string{"id", "type", "config", "depends_on"}
	edgeFields   = []string{"from", "to"}
	sensorFields = []string{"type", "topic", "topics", "group", "max_batch_size", "max_tick_runtime", "tick_interval", "replicas", "fetch_min_bytes", "fetch_max_wait", "initial_offset", "max_queued"}
)

// built is a DAG read from a tree, with what validation needs beyond the
// model: each node's config as a tree (nil when absent) and which
// sensor settings the file spelled out.
type built struct {
	dag     *DAG
	configs []val
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
func buildDAG(c *collector, top val) built {
	d := &DAG{File: c.file, Name: NameFromPath(c.file), Enabled: true}
	b := built{dag: d}
	if top.kind() != kindObject {
		c.add("", "", nil, "a DAG must be an object, not %s", typeName(top))
		c.mark("/nodes")
		return b
	}
	c.unknownFields("", "", top, dagFields...)
	if s, ok := c.str("", atKey("", "description"), top.get("description")); ok {
		d.Description = s
	}
	if v, ok := c.boolean("", atKey("", "enabled"), top.get("enabled")); ok {
		d.Enabled = v
	}
	if s, ok := c.str("", atKey("", "schedule"), top.get("schedule")); ok {
		d.Schedule = s
	}
	if m, ok := c.strMap("", atKey("", "tags"), top.get("tags")); ok {
		d.Tags = m
	}
	if n, ok := c.integer("", atKey("", "max_active_runs"), top.get("max_active_runs")); ok {
		d.MaxActiveRuns = n
	}
	if n, ok := c.integer("", atKey("", "priority"), top.get("priority")); ok {
		d.Priority = n
	}
	if v, ok := c.boolean("", atKey("", "retry_on_crash"), top.get("retry_on_crash")); ok {
		d.RetryOnCrash = v
	}
	if v, ok := c.boolean("", atKey("", "catch_up"), top.get("catch_up")); ok {
		d.CatchUp = v
	}

	nodesV := top.get("nodes")
	if !nodesV.ok() {
		c.add("", "/nodes", nil, "is required: a DAG needs at least one node")
	} else if nodes, ok := c.array("", atKey("", "nodes"), nodesV); ok {
		d.Nodes = make([]Node, nodes.len())
		b.configs = make([]val, nodes.len())
		// Configs are copied out of the parser's buffer, which backs
		// strings and must never be reachable for writing, into one block.
		var block []byte
		ends := make([]int, nodes.len())
		for i := range ends {
			b.configs[i] = buildNode(c, ptrIndex("/nodes", i), nodes.elem(i), &d.Nodes[i])
			if cfg := b.configs[i]; cfg.ok() {
				block = appendJSON(block, cfg)
			}
			ends[i] = len(block)
		}
		start := 0
		for i := range d.Nodes {
			if b.configs[i].ok() {
				d.Nodes[i].Config = block[start:ends[i]:ends[i]]
			}
			start = ends[i]
		}
	}
	if edges, ok := c.array("", atKey("", "edges"), top.get("edges")); ok {
		d.Edges = make([]Edge, edges.len())
		for i := range d.Edges {
			buildEdge(c, ptrIndex("/edges", i), edges.elem(i), &d.Edges[i])
		}
	}
	if sensors, ok := c.array("", atKey("", "sensors"), top.get("sensors")); ok {
		d.Sensors = make([]Sensor, sensors.len())
		b.sensors = make([]sensorSeen, sensors.len())
		for i := range d.Sensors {
			b.sensors[i] = buildSensor(c, ptrIndex("/sensors", i), sensors.elem(i), &d.Sensors[i])
		}
	}
	return b
}

// buildNode fills n and returns its config tree (nil when absent). A
// config of the wrong shape is reported by validation, which knows the kind.
func buildNode(c *collector, base string, v val, n *Node) val {
	o, ok := c.object("", atKey(base, ""), v)
	if !ok {
		c.mark(base + "/id")
		c.mark(base + "/type")
		c.mark(base + "/config")
		return val{}
	}
	// The id first: every later error of this node names it.
	if s, ok := c.str("", atKey(base, "id"), o.get("id")); ok {
		n.ID = s
	}
	c.unknownFields(n.ID, base, o, nodeFields...)
	if s, ok := c.str(n.ID, atKey(base, "type"), o.get("type")); ok {
		n.Type = s
	}
	if deps, ok := c.strList(n.ID, atKey(base, "depends_on"), o.get("depends_on")); ok {
		n.DependsOn = deps
	}
	return o.get("config")
}

func buildEdge(c *collector, base string, v val, e *Edge) {
	o, ok := c.object("", atKey(base, ""), v)
	if !ok {
		c.mark(base + "/from")
		c.mark(base + "/to")
		return
	}
	c.unknownFields("", base, o, edgeFields...)
	if s, ok := c.str("", atKey(base, "from"), o.get("from")); ok {
		e.From = s
	}
	if s, ok := c.str("", atKey(base, "to"), o.get("to")); ok {
		e.To = s
	}
}

func buildSensor(c *collector, base string, v val, s *Sensor) sensorSeen {
	var seen sensorSeen
	o, ok := c.object("", atKey(base, ""), v)
	if !ok {
		c.mark(base + "/type")
		c.mark(base + "/topic")
		return seen
	}
	c.unknownFields("", base, o, sensorFields...)
	if v, ok := c.str("", atKey(base, "type"), o.get("type")); ok {
		s.Type = v
	}
	if v, ok := c.str("", atKey(base, "topic"), o.get("topic")); ok {
		s.Topic = v
	}
	if v, ok := c.strList("", atKey(base, "topics"), o.get("topics")); ok {
		s.Topics = v
	}
	if v, ok := c.str("", atKey(base, "group"), o.get("group")); ok {
		s.Group = v
	}
	if v, ok := c.integer("", atKey(base, "max_batch_size"), o.get("max_batch_size")); ok {
		s.MaxBatchSize, seen.maxBatchSize = v, true
	}
	if v, ok := c.duration("", atKey(base, "max_tick_runtime"), o.get("max_tick_runtime")); ok {
		s.MaxTickRuntime, seen.maxTickRuntime = v, true
	}
	if v, ok := c.duration("", atKey(base, "tick_interval"), o.get("tick_interval")); ok {
		s.TickInterval, seen.tickInterval = v, true
	}
	if v, ok := c.integer("", atKey(base, "replicas"), o.get("replicas")); ok {
		s.Replicas, seen.replicas = v, true
	}
	if v, ok := c.integer("", atKey(base, "fetch_min_bytes"), o.get("fetch_min_bytes")); ok {
		s.FetchMinBytes = int32(v)
	}
	if v, ok := c.duration("", atKey(base, "fetch_max_wait"), o.get("fetch_max_wait")); ok {
		s.FetchMaxWait = v
	}
	if v, ok := c.str("", atKey(base, "initial_offset"), o.get("initial_offset")); ok {
		s.InitialOffset = v
	}
	if v, ok := c.integer("", atKey(base, "max_queued"), o.get("max_queued")); ok {
		s.MaxQueued = v
	}
	return seen
}
