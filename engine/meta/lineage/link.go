package lineage

import (
	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/mode"
	"github.com/sluice-dev/sluice/engine/meta/sqlref"
)

// QueryLink is what one Mode query's SQL reads, matched to dbt nodes.
type QueryLink struct {
	Report, Query string // tokens
	QueryName     string
	Refs          []MatchedRef // matched references
	Unmatched     []sqlref.Ref // references to no relation of the manifest
	Definitions   []string     // Mode definitions it pulls in ({{ @name }})
	Templated     []string     // table positions filled by templates
}

// MatchedRef is a reference and the nodes it resolved to.
type MatchedRef struct {
	Ref sqlref.Ref
	IDs []string
	By  sqlref.MatchKind
}

// Relations lists the manifest nodes that are warehouse relations: models,
// seeds, snapshots and sources.
func Relations(m *dbt.Manifest) []sqlref.Relation {
	var rels []sqlref.Relation
	for _, id := range m.IDs(dbt.Model, dbt.Seed, dbt.Snapshot, dbt.Source) {
		n := m.Nodes[id]
		rels = append(rels, sqlref.Relation{ID: id, Database: n.Database, Schema: n.Schema, Alias: n.Alias, RelationName: n.RelationName})
	}
	return rels
}

// LinkQueries reads the SQL of every query of every non-archived report
// and matches its references against ix. Links come out in report, then
// query, order.
func LinkQueries(ix *sqlref.Index, bi *mode.Graph) []QueryLink {
	if bi == nil {
		return nil
	}
	var out []QueryLink
	for _, r := range bi.Reports {
		if r.Archived {
			continue
		}
		for _, q := range bi.Queries[r.Token] {
			x := sqlref.Extract(q.RawQuery)
			l := QueryLink{Report: r.Token, Query: q.Token, QueryName: q.Name, Definitions: x.Definitions, Templated: x.Templated}
			for _, ref := range x.Refs {
				if ids, by := ix.Match(ref); len(ids) > 0 {
					l.Refs = append(l.Refs, MatchedRef{Ref: ref, IDs: ids, By: by})
				} else {
					l.Unmatched = append(l.Unmatched, ref)
				}
			}
			out = append(out, l)
		}
	}
	return out
}
