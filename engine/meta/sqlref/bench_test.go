package sqlref_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/meta/sqlref"
)

// benchWorkload builds a 5,000-relation manifest index and 10,000 Mode-style
// queries (CTEs, joins, comments, strings, Liquid parameters and {% form %}
// blocks; 1 to 2 KB each) that read 2 to 6 of the relations each, quoted
// and qualified in the ways analysts write them.
func benchWorkload(models, queries int) ([]sqlref.Relation, []string) {
	r := rand.New(rand.NewPCG(1, 2))
	rels := make([]sqlref.Relation, models)
	schemas := []string{"analytics", "staging", "marts", "finance", "marketing"}
	for i := range rels {
		schema := schemas[i%len(schemas)]
		name := fmt.Sprintf("model_%d", i)
		rels[i] = sqlref.Relation{
			ID: "model.p." + name, Database: "warehouse", Schema: schema, Alias: name,
			RelationName: fmt.Sprintf(`"warehouse"."%s"."%s"`, schema, name),
		}
	}
	qs := make([]string, queries)
	var b strings.Builder
	for q := range qs {
		b.Reset()
		b.WriteString("-- Weekly revenue by region, from the finance team\n/* owner: analytics; do not select from raw tables */\n")
		b.WriteString("with base as (\n  select o.id, o.amount, extract(year from o.created_at) as yr, c.region\n")
		n := 2 + r.IntN(5)
		for k := range n {
			rel := rels[r.IntN(models)]
			var name string
			switch r.IntN(4) {
			case 0:
				name = rel.RelationName
			case 1:
				name = rel.Schema + "." + rel.Alias
			case 2:
				name = strings.ToUpper(rel.Schema) + `."` + rel.Alias + `"`
			default:
				name = rel.Alias
			}
			if k == 0 {
				fmt.Fprintf(&b, "  from %s o\n", name)
			} else {
				fmt.Fprintf(&b, "  left join %s t%d on t%d.id = o.id and t%d.kind is distinct from 'from x'\n", name, k, k, k)
			}
		}
		b.WriteString("  where o.created_at >= '{{ start_date }}' and o.region in ({{ regions }})\n)\n")
		b.WriteString("select yr, region, sum(amount) as revenue, count(distinct id) as orders\nfrom base\n")
		b.WriteString("group by 1, 2\norder by 1, 2 desc\n")
		b.WriteString("{% form %}\nstart_date:\n  type: date\n  default: 2024-01-01\nregions:\n  type: multiselect\n  options: [north, south]\n{% endform %}\n")
		qs[q] = b.String()
	}
	return rels, qs
}

// BenchmarkExtractAndMatch10kQueries is one op: build the index over 5,000
// relations, then extract and match 10,000 queries. Target: ≤ 1 s.
func BenchmarkExtractAndMatch10kQueries(b *testing.B) {
	rels, qs := benchWorkload(5000, 10000)
	total := 0
	for _, q := range qs {
		total += len(q)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		ix := sqlref.NewIndex(rels)
		matched := 0
		for _, q := range qs {
			for _, ref := range sqlref.Extract(q).Refs {
				if ids, _ := ix.Match(ref); len(ids) > 0 {
					matched++
				}
			}
		}
		if matched == 0 {
			b.Fatal("nothing matched")
		}
	}
}

func TestBenchWorkloadMatches(t *testing.T) {
	t.Parallel()
	rels, qs := benchWorkload(200, 50)
	ix := sqlref.NewIndex(rels)
	for _, q := range qs {
		x := sqlref.Extract(q)
		if len(x.Refs) < 2 {
			t.Fatalf("query reads %d relations:\n%s", len(x.Refs), q)
		}
		for _, ref := range x.Refs {
			if ids, _ := ix.Match(ref); len(ids) != 1 {
				t.Errorf("ref %s matched %v", ref, ids)
			}
		}
	}
}
