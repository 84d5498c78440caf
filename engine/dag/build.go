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
// validation, which sees both file forms and in-memory DAGs. Each object is
// read in one pass over its members, dispatched by name.
func buildDAG(c *collector, top val) built {
	d := &DAG{File: c.file, Name: NameFromPath(c.file), Enabled: true}
	b := built{dag: d}
	if top.kind() != kindObject {
		c.add("", "", nil, "a DAG must be an object, not %s", typeName(top))
		c.mark("/nodes")
		return b
	}
	sawNodes := false
	for i := 0; i < top.len(); i++ {
		key, v := top.key(i), top.elem(i)
		a := atKey("", key)
		switch key {
		case "description":
			d.Description, _ = c.str("", a, v)
		case "enabled":
			if e, ok := c.boolean("", a, v); ok {
				d.Enabled = e
			}
		case "schedule":
			d.Schedule, _ = c.str("", a, v)
		case "tags":
			d.Tags, _ = c.strMap("", a, v)
		case "max_active_runs":
			d.MaxActiveRuns, _ = c.integer("", a, v)
		case "priority":
			d.Priority, _ = c.integer("", a, v)
		case "retry_on_crash":
			d.RetryOnCrash, _ = c.boolean("", a, v)
		case "catch_up":
			d.CatchUp, _ = c.boolean("", a, v)
		case "nodes":
			sawNodes = true
			if nodes, ok := c.array("", a, v); ok {
				buildNodes(c, &b, nodes)
			}
		case "edges":
			if edges, ok := c.array("", a, v); ok {
				d.Edges = make([]Edge, edges.len())
				for i := range d.Edges {
					buildEdge(c, ptrIndex("/edges", i), edges.elem(i), &d.Edges[i])
				}
			}
		case "sensors":
			if sensors, ok := c.array("", a, v); ok {
				d.Sensors = make([]Sensor, sensors.len())
				b.sensors = make([]sensorSeen, sensors.len())
				for i := range d.Sensors {
					b.sensors[i] = buildSensor(c, ptrIndex("/sensors", i), sensors.elem(i), &d.Sensors[i])
				}
			}
		default:
			c.unknown("", a, dagFields)
		}
	}
	if !sawNodes {
		c.add("", "/nodes", nil, "is required: a DAG needs at least one node")
	}
	return b
}

func buildNodes(c *collector, b *built, nodes val) {
	d := b.dag
	d.Nodes = make([]Node, nodes.len())
	b.configs = make([]val, nodes.len())
	// Configs are copied out of the parser's buffer, which backs strings
	// and must never be reachable for writing, into one block.
	ends := make([]int, nodes.len())
	size := 0
	for i := range ends {
		b.configs[i] = buildNode(c, ptrIndex("/nodes", i), nodes.elem(i), &d.Nodes[i])
		if cfg := b.configs[i]; cfg.ok() {
			size += len(cfg.raw()) + 2 // Starlark-built configs have no raw: a guess
		}
	}
	block := make([]byte, 0, size)
	for i := range ends {
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

// buildNode fills n and returns its config tree (the zero val when absent).
// A config of the wrong shape is reported by validation, which knows the
// kind.
func buildNode(c *collector, base string, v val, n *Node) val {
	o, ok := c.object("", atKey(base, ""), v)
	if !ok {
		c.mark(base + "/id")
		c.mark(base + "/type")
		c.mark(base + "/config")
		return val{}
	}
	// The id first: every later error of this node names it.
	n.ID, _ = c.str("", atKey(base, "id"), o.get("id"))
	var cfg val
	for i := 0; i < o.len(); i++ {
		key, v := o.key(i), o.elem(i)
		a := atKey(base, key)
		switch key {
		case "id":
		case "type":
			n.Type, _ = c.str(n.ID, a, v)
		case "config":
			cfg = v
		case "depends_on":
			n.DependsOn, _ = c.strList(n.ID, a, v)
		default:
			c.unknown(n.ID, a, nodeFields)
		}
	}
	return cfg
}

func buildEdge(c *collector, base string, v val, e *Edge) {
	o, ok := c.object("", atKey(base, ""), v)
	if !ok {
		c.mark(base + "/from")
		c.mark(base + "/to")
		return
	}
	for i := 0; i < o.len(); i++ {
		key, v := o.key(i), o.elem(i)
		a := atKey(base, key)
		switch key {
		case "from":
			e.From, _ = c.str("", a, v)
		case "to":
			e.To, _ = c.str("", a, v)
		default:
			c.unknown("", a, edgeFields)
		}
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
	for i := 0; i < o.len(); i++ {
		key, v := o.key(i), o.elem(i)
		a := atKey(base, key)
		switch key {
		case "type":
			s.Type, _ = c.str("", a, v)
		case "topic":
			s.Topic, _ = c.str("", a, v)
		case "topics":
			s.Topics, _ = c.strList("", a, v)
		case "group":
			s.Group, _ = c.str("", a, v)
		case "max_batch_size":
			s.MaxBatchSize, seen.maxBatchSize = c.integer("", a, v)
		case "max_tick_runtime":
			s.MaxTickRuntime, seen.maxTickRuntime = c.duration("", a, v)
		case "tick_interval":
			s.TickInterval, seen.tickInterval = c.duration("", a, v)
		case "replicas":
			s.Replicas, seen.replicas = c.integer("", a, v)
		case "fetch_min_bytes":
			n, _ := c.integer("", a, v)
			s.FetchMinBytes = int32(n)
		case "fetch_max_wait":
			s.FetchMaxWait, _ = c.duration("", a, v)
		case "initial_offset":
			s.InitialOffset, _ = c.str("", a, v)
		case "max_queued":
			s.MaxQueued, _ = c.integer("", a, v)
		default:
			c.unknown("", a, sensorFields)
		}
	}
	return seen
}
