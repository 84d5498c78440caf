package dag

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sensor bounds: beyond them a setting is a typo, not a tuning choice.
const (
	MaxSensorBatchSize = 1_000_000
	MaxSensorReplicas  = 64
	maxNodeIDLen       = 128
)

// Validate checks a DAG built in memory (tests, built-in DAGs), fills each
// node's Task and the defaults, and returns Errors on failure.
func Validate(d *DAG) error {
	c := newCollector(d.File)
	b := built{dag: d, configs: make([]val, len(d.Nodes))}
	for i := range d.Nodes {
		n := &d.Nodes[i]
		if len(n.Config) == 0 {
			continue
		}
		tree, err := decodeJSON(d.File, n.Config)
		if err != nil {
			c.add(n.ID, ptrIndex("/nodes", i)+"/config", ErrSyntax, "invalid JSON at %d:%d: %s", err.Line, err.Col, err.Msg)
			continue
		}
		b.configs[i] = tree
	}
	validate(c, b)
	return c.sorted()
}

// validate runs every check that does not depend on the file form.
func validate(c *collector, b built) {
	d := b.dag
	if d.MaxActiveRuns < 0 {
		c.add("", "/max_active_runs", nil, "must not be negative, got %d", d.MaxActiveRuns)
	}
	d.schedule = nil
	if d.Schedule != "" {
		if s, err := parseSchedule(d.Schedule); err != nil {
			c.add("", "/schedule", nil, "%v", err)
		} else {
			d.schedule = s
		}
	}
	for k := range d.Tags {
		if strings.TrimSpace(k) == "" {
			c.add("", ptr("/tags", k), nil, "tag name must not be empty")
		}
	}
	if len(d.Nodes) == 0 && !c.has(atKey("", "nodes")) {
		c.add("", "/nodes", nil, "must contain at least one node")
	}

	first := make(map[string]int, len(d.Nodes))
	for i := range d.Nodes {
		n := &d.Nodes[i]
		node := at{base: "/nodes", idx: i}
		switch {
		case n.ID == "":
			if !c.has(node.member("id")) {
				c.add("", node.member("id").String(), nil, "is required")
			}
		case !validID(n.ID):
			c.add(n.ID, node.member("id").String(), nil, "invalid id %q: use letters, digits, '_', '-' and '.', at most %d characters, starting with a letter or digit", n.ID, maxNodeIDLen)
		default:
			if j, dup := first[n.ID]; dup {
				c.add(n.ID, node.member("id").String(), nil, "duplicate id %q (first used at /nodes/%d)", n.ID, j)
			} else {
				first[n.ID] = i
			}
		}
		kindOK := false
		switch {
		case n.Type == "":
			if !c.has(node.member("type")) {
				c.add(n.ID, node.member("type").String(), nil, "is required (local, lambda or a sluice.* built-in)")
			}
		case !knownKind(n.Type):
			c.add(n.ID, node.member("type").String(), nil, "unknown task type %q (want local, lambda or a sluice.* built-in)", n.Type)
		default:
			kindOK = true
		}
		n.Task = nil
		var cfg val
		if i < len(b.configs) {
			cfg = b.configs[i]
		}
		switch {
		case !cfg.ok():
			if !c.has(node.member("config")) {
				c.add(n.ID, node.member("config").String(), nil, "is required (use {} for a task without settings)")
			}
		case kindOK:
			n.Task = decodeTask(c, n.ID, configPath(i), n.Type, cfg, n.Config)
		default:
			// Without a kind the settings cannot be judged; still insist on
			// the shape every kind shares.
			c.object(n.ID, node.member("config"), cfg)
		}
	}

	for i := range d.Nodes {
		n := &d.Nodes[i]
		for k, dep := range n.DependsOn {
			if _, ok := first[dep]; ok && dep != n.ID {
				continue
			}
			p := ptrIndex(ptrIndex("/nodes", i)+"/depends_on", k)
			switch {
			case dep == n.ID && dep != "":
				c.add(n.ID, p, nil, "node depends on itself")
			case dep == "":
				c.add(n.ID, p, nil, "must not be empty")
			default:
				c.add(n.ID, p, nil, "unknown node %q", dep)
			}
		}
	}
	for i, e := range d.Edges {
		edge := at{base: "/edges", idx: i}
		ends := [2]struct{ name, id string }{{"from", e.From}, {"to", e.To}}
		for _, end := range ends {
			if end.id == "" {
				if !c.has(edge.member(end.name)) {
					c.add("", edge.member(end.name).String(), nil, "is required")
				}
			} else if _, ok := first[end.id]; !ok {
				c.add("", edge.member(end.name).String(), nil, "unknown node %q", end.id)
			}
		}
		if e.From != "" && e.From == e.To {
			c.add(e.From, edge.String(), nil, "edge from a node to itself")
		}
	}

	g := buildGraph(d, first)
	if len(g.order) < len(g.index) {
		// Only a cycle keeps nodes out of the order: find them.
		for _, cyc := range g.cycles(d) {
			n := d.Nodes[cyc[0]]
			c.add(n.ID, ptrIndex("/nodes", cyc[0]), ErrCycle, "dependency cycle: %s", cycleString(d, cyc))
		}
	}

	for i := range d.Sensors {
		var seen sensorSeen
		if i < len(b.sensors) {
			seen = b.sensors[i]
		}
		validateSensor(c, ptrIndex("/sensors", i), &d.Sensors[i], seen)
	}

	if len(c.errs) == 0 {
		d.graph = g
	} else {
		d.graph = nil
	}
}

func validID(id string) bool {
	if len(id) > maxNodeIDLen {
		return false
	}
	for i, r := range id {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || r != '_' && r != '-' && r != '.') {
			return false
		}
	}
	return true
}

func validateSensor(c *collector, p string, s *Sensor, seen sensorSeen) {
	switch s.Type {
	case SensorKafka:
	case "":
		if !c.has(atKey(p, "type")) {
			c.add("", p+"/type", nil, "is required (kafka)")
		}
	default:
		c.add("", p+"/type", nil, "unknown sensor type %q (want kafka)", s.Type)
	}
	topics := make([]string, 0, len(s.Topics)+1)
	if s.Topic != "" {
		topics = append(topics, s.Topic)
	}
	for _, t := range s.Topics {
		if !contains(topics, t) {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 && !c.has(atKey(p, "topic")) && !c.has(atKey(p, "topics")) {
		c.add("", p+"/topic", nil, "is required (topic or topics)")
	}
	if s.Topic != "" && !validTopic(s.Topic) {
		c.add("", p+"/topic", nil, "invalid Kafka topic name %q", s.Topic)
	}
	for k, t := range s.Topics {
		if !validTopic(t) {
			c.add("", ptrIndex(p+"/topics", k), nil, "invalid Kafka topic name %q", t)
		}
	}
	s.Topics = topics

	switch {
	case s.MaxBatchSize < 0 || s.MaxBatchSize == 0 && seen.maxBatchSize:
		c.add("", p+"/max_batch_size", nil, "must be at least 1, got %d", s.MaxBatchSize)
	case s.MaxBatchSize > MaxSensorBatchSize:
		c.add("", p+"/max_batch_size", nil, "must be at most %d, got %d", MaxSensorBatchSize, s.MaxBatchSize)
	case s.MaxBatchSize == 0:
		s.MaxBatchSize = DefaultMaxBatchSize
	}
	positiveDuration(c, atKey(p, "max_tick_runtime"), &s.MaxTickRuntime, seen.maxTickRuntime, DefaultMaxTickRuntime)
	positiveDuration(c, atKey(p, "tick_interval"), &s.TickInterval, seen.tickInterval, DefaultTickInterval)
	switch {
	case s.Replicas < 0 || s.Replicas == 0 && seen.replicas:
		c.add("", p+"/replicas", nil, "must be at least 1, got %d", s.Replicas)
	case s.Replicas > MaxSensorReplicas:
		c.add("", p+"/replicas", nil, "must be at most %d, got %d", MaxSensorReplicas, s.Replicas)
	case s.Replicas == 0:
		s.Replicas = DefaultReplicas
	}
	if s.FetchMinBytes < 0 {
		c.add("", p+"/fetch_min_bytes", nil, "must not be negative, got %d", s.FetchMinBytes)
	}
	if s.FetchMaxWait < 0 && !c.has(atKey(p, "fetch_max_wait")) {
		c.add("", p+"/fetch_max_wait", nil, "must not be negative")
	}
	switch s.InitialOffset {
	case "":
		s.InitialOffset = "oldest"
	case "oldest", "newest":
	default:
		c.add("", p+"/initial_offset", nil, "must be \"oldest\" or \"newest\", not %q", s.InitialOffset)
	}
	if s.MaxQueued < 0 {
		c.add("", p+"/max_queued", nil, "must not be negative, got %d", s.MaxQueued)
	}
}

func positiveDuration(c *collector, a at, d *Duration, seen bool, def time.Duration) {
	switch {
	case c.has(a):
	case *d < 0 || *d == 0 && seen:
		c.add("", a.String(), nil, "must be positive")
	case *d == 0:
		*d = Duration(def)
	}
}

// validTopic follows Kafka's own rule: 1–249 of [a-zA-Z0-9._-], not "." or "..".
func validTopic(t string) bool {
	if t == "" || len(t) > 249 || t == "." || t == ".." {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// sorted returns the errors ordered by path, comparing array indexes as
// numbers, so problems of one node sit together and /nodes/10 follows
// /nodes/9. Errors without a path (syntax, cycles) keep their place first.
func (c *collector) sorted() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(a, b int) bool { return comparePaths(c.errs[a].Path, c.errs[b].Path) < 0 })
	return c.errs
}

func comparePaths(a, b string) int {
	for a != "" || b != "" {
		if a == "" {
			return -1
		}
		if b == "" {
			return 1
		}
		var sa, sb string
		sa, a = nextSegment(a)
		sb, b = nextSegment(b)
		if sa == sb {
			continue
		}
		na, errA := strconv.Atoi(sa)
		nb, errB := strconv.Atoi(sb)
		if errA == nil && errB == nil {
			if na < nb {
				return -1
			}
			return 1
		}
		if sa < sb {
			return -1
		}
		return 1
	}
	return 0
}

func nextSegment(p string) (seg, rest string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}
