package sqlref

import (
	"sort"
	"strings"
)

// Relation is a warehouse relation a dbt node builds or describes.
type Relation struct {
	ID           string // dbt unique_id
	Database     string
	Schema       string
	Alias        string // alias of a model, identifier of a source
	RelationName string // as the adapter quotes it: "db"."schema"."t", `p`.`d`.`t`
}

// How a reference was matched, from most to least certain.
type MatchKind uint8

const (
	ByRelationName MatchKind = iota + 1
	BySchemaAlias
	ByAlias
)

func (k MatchKind) String() string {
	switch k {
	case ByRelationName:
		return "relation_name"
	case BySchemaAlias:
		return "schema+alias"
	case ByAlias:
		return "alias"
	}
	return "none"
}

// Index matches refs to relations. Several nodes may share one relation (a
// seed and the source declared over it): a match returns all of them.
type Index struct {
	full        map[string][]string // relation_name parts → ids
	schemaAlias map[string][]string // schema \x00 alias → ids
	alias       map[string][]string // alias → distinct schema\x00alias keys
	// Loose lets a qualified ref whose schema matches nothing fall back to
	// its bare name when that is unambiguous (dev schemas, renamed
	// databases). Off by default: a wrong link hides a dead model.
	Loose bool
}

// NewIndex indexes relations. Relations without a name (ephemeral models)
// are left out: nothing can query them.
func NewIndex(rels []Relation) *Index {
	ix := &Index{
		full:        make(map[string][]string, len(rels)),
		schemaAlias: make(map[string][]string, len(rels)),
		alias:       make(map[string][]string, len(rels)),
	}
	for _, r := range rels {
		parts := SplitName(r.RelationName)
		if len(parts) == 0 && r.Alias == "" {
			continue
		}
		if len(parts) > 0 {
			key := strings.Join(parts, "\x00")
			ix.full[key] = appendUnique(ix.full[key], r.ID)
		}
		schema, alias := strings.ToLower(r.Schema), strings.ToLower(r.Alias)
		if len(parts) >= 2 {
			// The relation name is what the warehouse has; trust it over
			// the fields when they disagree.
			schema, alias = parts[len(parts)-2], parts[len(parts)-1]
		}
		if alias == "" {
			continue
		}
		sa := schema + "\x00" + alias
		ix.schemaAlias[sa] = appendUnique(ix.schemaAlias[sa], r.ID)
		ix.alias[alias] = appendUnique(ix.alias[alias], sa)
	}
	for _, m := range []map[string][]string{ix.full, ix.schemaAlias} {
		for _, ids := range m {
			sort.Strings(ids)
		}
	}
	return ix
}

// Match finds the nodes a ref reads: a qualified ref by its relation name,
// then by schema and alias (the database part is ignored: targets differ in
// database more than in anything else); a bare name by alias, when exactly
// one relation has it. The returned slice is shared: do not modify it.
func (ix *Index) Match(ref Ref) ([]string, MatchKind) {
	p := ref.Parts
	if len(p) == 0 {
		return nil, 0
	}
	if len(p) >= 2 {
		if ids := ix.full[strings.Join(p, "\x00")]; len(ids) > 0 {
			return ids, ByRelationName
		}
		if ids := ix.schemaAlias[p[len(p)-2]+"\x00"+p[len(p)-1]]; len(ids) > 0 {
			return ids, BySchemaAlias
		}
		if !ix.Loose {
			return nil, 0
		}
	} else if ids := ix.full[p[0]]; len(ids) > 0 {
		return ids, ByRelationName
	}
	if keys := ix.alias[p[len(p)-1]]; len(keys) == 1 {
		return ix.schemaAlias[keys[0]], ByAlias
	}
	return nil, 0
}

// SplitName splits a relation name as adapters quote it ("db"."s"."t",
// `proj`.`ds`.`t`, [db].[s].[t], or bare) into lower-cased parts.
func SplitName(name string) []string {
	var parts []string
	wantName := true
	for _, t := range lex(name) {
		switch {
		case wantName && t.kind == tWord:
			parts = append(parts, strings.ToLower(t.text))
		case wantName && t.kind == tQuoted && t.quote == '`' && strings.Contains(t.text, "."):
			for _, p := range strings.Split(t.text, ".") {
				parts = append(parts, strings.ToLower(p))
			}
		case wantName && t.kind == tQuoted:
			parts = append(parts, strings.ToLower(t.text))
		case !wantName && t.kind == tPunct && t.text == ".":
		default:
			return nil
		}
		wantName = !wantName
	}
	if wantName {
		return nil // empty, or ends with a dot
	}
	return parts
}
