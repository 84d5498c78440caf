package lineage

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"gonum.org/v1/gonum/graph"
	gsimple "gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/traverse"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
)

// KeepRules mark models as consumed on purpose: a kept model, and
// everything upstream of it, is never a deprecation candidate.
type KeepRules struct {
	// Tags keep models carrying any of them (case-insensitive).
	Tags []string `json:"tags,omitempty"`
	// Paths keep models whose original_file_path matches a glob; `**`
	// matches any number of directories ("models/finance/**").
	Paths []string `json:"paths,omitempty"`
	// Models keep models by unique_id or name.
	Models []string `json:"models,omitempty"`
}

// Keeps reports whether a rule keeps n, and which.
func (k KeepRules) Keeps(n *dbt.Node) (string, bool) {
	for _, t := range k.Tags {
		if n.HasTag(t) {
			return "tag " + t, true
		}
	}
	for _, p := range k.Paths {
		if globMatch(p, n.OriginalFilePath) {
			return "path " + p, true
		}
	}
	for _, m := range k.Models {
		if m == n.UniqueID || m == n.Name {
			return "listed", true
		}
	}
	return "", false
}

// CandidateOptions say what counts as a consumer.
type CandidateOptions struct {
	Keep KeepRules
	// Stale maps stale report tokens to their names: their queries are
	// not consumers.
	Stale map[string]string
	// IgnoreExposureFiles lists files whose exposures do not count as
	// consumers: the exposures sluice generates from Mode reports, which
	// would otherwise keep alive what a now stale report used.
	IgnoreExposureFiles []string
	// IncludePackages makes installed packages' models candidates too;
	// by default only the project's own models are (a package's files
	// cannot be deleted from the project).
	IncludePackages bool
}

// Candidate is a model with no path to any consumer.
type Candidate struct {
	UniqueID string
	Name     string
	Reason   string
	// Files are the SQL file and, when it has one, the YAML properties
	// file (project-relative).
	Files []string
	// SQLFile is original_file_path; PatchPath is patch_path as dbt writes
	// it ("project://models/schema.yml"), empty without one.
	SQLFile, PatchPath string
	// StaleReports are the tokens of the stale reports that are its only
	// consumers, if any.
	StaleReports []string
	// SourceName is the source an unused source table belongs to.
	SourceName string
}

// ReasonNoConsumer is why a model with no stale report downstream is
// unused: it names every kind of consumer it does not reach.
const ReasonNoConsumer = "no downstream consumer: reaches no exposure, semantic model, metric, saved query, BI query or keep rule"

// IsSemantic reports whether a resource type is a MetricFlow object:
// semantic models, metrics and saved queries consume models in their own
// right (dbt parse fails when a model they name goes).
func IsSemantic(resourceType string) bool {
	return resourceType == dbt.SemanticModel || resourceType == dbt.Metric || resourceType == dbt.SavedQuery
}

// IsTimeSpine reports whether a model is a MetricFlow time spine: declared
// with `time_spine:` (dbt ≥ 1.9) or named metricflow_time_spine (the name
// MetricFlow looks for before 1.9).
func IsTimeSpine(n *dbt.Node) bool {
	return n.ResourceType == dbt.Model && (n.TimeSpine || n.Name == "metricflow_time_spine")
}

// Evidence counts the consumers an analysis knows of. Without any (no BI
// workspace, no exposure, no semantic object) nothing can be called unused.
type Evidence struct {
	BI        bool `json:"bi"`         // a BI workspace was read
	Exposures int  `json:"exposures"`  // declared exposures that count (not sluice's own)
	Semantic  int  `json:"semantic"`   // semantic models, metrics and saved queries
	Queries   int  `json:"bi_queries"` // live BI queries
	Kept      int  `json:"kept"`       // models a keep rule names
	TimeSpine int  `json:"time_spine"` // time-spine models kept for the semantic layer
}

// Any reports whether there is consumer evidence at all. Keep rules are
// not evidence: they protect models, they do not show what is used.
func (e Evidence) Any() bool { return e.BI || e.Exposures > 0 || e.Semantic > 0 }

// Result is what Analyze finds.
type Result struct {
	Evidence Evidence
	// Models are the unused models (not seeds or snapshots), by unique_id.
	Models []Candidate
	// Sources are the source tables nothing reads (dbt-project-evaluator's
	// fct_unused_sources), by unique_id.
	Sources []Candidate
	// Held are unused versions of a versioned model another version of
	// which is consumed: a versioned model is proposed as one unit (the
	// clean-up edits its one properties entry), so none of them is.
	// Reason says which version is consumed.
	Held []Candidate
}

// Candidates finds the unused models; see Analyze.
func Candidates(g *Graph, m *dbt.Manifest, o CandidateOptions) []Candidate {
	return Analyze(g, m, o).Models
}

// Analyze finds the models and sources with no recursive path to a
// consumer: an exposure (but those sluice generates), a semantic model, a
// metric, a saved query, a query of a report that is neither stale nor
// archived, or a model a keep rule names. Time-spine models are consumers
// while any semantic object exists. Snapshots and models are consumed
// through what they feed.
func Analyze(g *Graph, m *dbt.Manifest, o CandidateOptions) Result {
	ignored := map[string]bool{}
	for _, f := range o.IgnoreExposureFiles {
		ignored[path.Clean(f)] = true
	}
	res := Result{Evidence: Evidence{BI: g.bi}}
	var consumers, spines []int64
	for id, n := range g.nodes {
		switch {
		case n.Kind == dbt.Exposure:
			if e := m.Nodes[n.Key]; e != nil && !ignored[path.Clean(e.OriginalFilePath)] {
				consumers = append(consumers, int64(id))
				res.Evidence.Exposures++
			}
		case IsSemantic(n.Kind):
			consumers = append(consumers, int64(id))
			res.Evidence.Semantic++
		case n.Kind == KindQuery:
			if _, isStale := o.Stale[reportOf(n.Key)]; !isStale {
				consumers = append(consumers, int64(id))
				res.Evidence.Queries++
			}
		case n.Kind == dbt.Model:
			mn := m.Nodes[n.Key]
			if _, ok := o.Keep.Keeps(mn); ok {
				consumers = append(consumers, int64(id))
				res.Evidence.Kept++
			} else if IsTimeSpine(mn) {
				spines = append(spines, int64(id))
			}
		}
	}
	if res.Evidence.Semantic > 0 {
		consumers = append(consumers, spines...)
		res.Evidence.TimeSpine = len(spines)
	}
	alive := g.upstream(consumers)

	// For the reason: which stale reports each dead model feeds.
	feeds := map[int64][]string{}
	tokens := make([]string, 0, len(o.Stale))
	for t := range o.Stale {
		tokens = append(tokens, t)
	}
	sort.Strings(tokens)
	for _, t := range tokens {
		var queries []int64
		for _, q := range g.Parents(ReportKey(t)) {
			queries = append(queries, g.ids[q])
		}
		for id := range g.upstream(queries) {
			feeds[id] = append(feeds[id], t)
		}
	}

	candidate := func(key string, n *dbt.Node) Candidate {
		id := g.ids[key]
		c := Candidate{
			UniqueID: key, Name: n.Name, Reason: ReasonNoConsumer,
			Files: n.Files(), SQLFile: n.OriginalFilePath, PatchPath: n.PatchPath,
			StaleReports: feeds[id],
		}
		if len(c.StaleReports) > 0 {
			c.Reason = staleReason(c.StaleReports, o.Stale)
		}
		return c
	}
	// A versioned model's versions share a name and a properties entry:
	// they are proposed together or not at all.
	consumedVersions := map[string][]string{} // package.name -> consumed versions
	for _, key := range m.IDs(dbt.Model) {
		if n := m.Nodes[key]; n.Version != "" && alive[g.ids[key]] {
			k := n.Package + "." + n.Name
			consumedVersions[k] = append(consumedVersions[k], "v"+n.Version)
		}
	}
	for _, key := range m.IDs(dbt.Model) {
		n := m.Nodes[key]
		if alive[g.ids[key]] || (!o.IncludePackages && !m.IsLocal(n)) {
			continue
		}
		c := candidate(key, n)
		if used := consumedVersions[n.Package+"."+n.Name]; n.Version != "" && len(used) > 0 {
			c.Reason = fmt.Sprintf("%s v%s unused but %s %s consumed: versions are proposed together",
				n.Name, n.Version, strings.Join(used, ", "), plural(len(used), "is", "are"))
			res.Held = append(res.Held, c)
			continue
		}
		res.Models = append(res.Models, c)
	}
	for _, key := range m.IDs(dbt.Source) {
		n := m.Nodes[key]
		if alive[g.ids[key]] || (!o.IncludePackages && !m.IsLocal(n)) {
			continue
		}
		c := candidate(key, n)
		c.SourceName = n.SourceName
		// A source's original_file_path is its YAML: it is edited, never
		// deleted whole.
		c.Files, c.SQLFile, c.PatchPath = nil, "", n.OriginalFilePath
		if len(c.StaleReports) == 0 {
			c.Reason = "unused source: no model, snapshot or BI query reading it reaches a consumer"
		}
		res.Sources = append(res.Sources, c)
	}
	return res
}

// upstream returns the nodes from which some start node is reachable,
// starts included.
func (g *Graph) upstream(starts []int64) map[int64]bool {
	seen := map[int64]bool{}
	bf := traverse.BreadthFirst{Visit: func(n graph.Node) { seen[n.ID()] = true }}
	for _, s := range starts {
		if !seen[s] {
			bf.Walk(reversed{g.g}, gsimple.Node(s), nil)
		}
	}
	return seen
}

func staleReason(tokens []string, names map[string]string) string {
	quoted := make([]string, 0, len(tokens))
	for i, t := range tokens {
		if i == 3 {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(tokens)-3))
			break
		}
		quoted = append(quoted, fmt.Sprintf("%q (%s)", names[t], t))
	}
	if len(tokens) == 1 {
		return "only consumer is stale report " + quoted[0]
	}
	return "only consumers are stale reports " + strings.Join(quoted, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// reportOf returns the report token of a query key.
func reportOf(queryKey string) string {
	rest := strings.TrimPrefix(queryKey, "mode.query.")
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// globMatch matches slash-separated paths; `**` spans directories.
func globMatch(pattern, name string) bool {
	return matchParts(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchParts(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(parts); i++ {
				if matchParts(pat[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], parts[0]); err != nil || !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
