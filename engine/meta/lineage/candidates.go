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
}

// Reasons.
const ReasonNoConsumer = "no downstream consumer"

// Candidates finds the models (not sources, seeds or snapshots) with no
// recursive path to a consumer: an exposure, a query of a report that is
// neither stale nor archived, or a model a keep rule names. Sorted by
// unique_id.
func Candidates(g *Graph, m *dbt.Manifest, o CandidateOptions) []Candidate {
	ignored := map[string]bool{}
	for _, f := range o.IgnoreExposureFiles {
		ignored[path.Clean(f)] = true
	}
	var consumers []int64
	for id, n := range g.nodes {
		switch n.Kind {
		case dbt.Exposure:
			if e := m.Nodes[n.Key]; e != nil && !ignored[path.Clean(e.OriginalFilePath)] {
				consumers = append(consumers, int64(id))
			}
		case KindQuery:
			if _, isStale := o.Stale[reportOf(n.Key)]; !isStale {
				consumers = append(consumers, int64(id))
			}
		case dbt.Model:
			if _, ok := o.Keep.Keeps(m.Nodes[n.Key]); ok {
				consumers = append(consumers, int64(id))
			}
		}
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

	var out []Candidate
	for _, key := range m.IDs(dbt.Model) {
		n := m.Nodes[key]
		id := g.ids[key]
		if alive[id] || (!o.IncludePackages && !m.IsLocal(n)) {
			continue
		}
		c := Candidate{
			UniqueID: key, Name: n.Name, Reason: ReasonNoConsumer,
			Files: n.Files(), SQLFile: n.OriginalFilePath, PatchPath: n.PatchPath,
			StaleReports: feeds[id],
		}
		if len(c.StaleReports) > 0 {
			c.Reason = staleReason(c.StaleReports, o.Stale)
		}
		out = append(out, c)
	}
	return out
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
