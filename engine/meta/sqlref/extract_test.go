package sqlref

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
)

func refStrings(x Extraction) []string {
	out := []string{}
	for _, r := range x.Refs {
		out = append(out, r.String())
	}
	return out
}

func TestExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sql  string
		want []string
	}{
		{"bare", "select * from orders", []string{"orders"}},
		{"schema qualified", "SELECT id FROM analytics.orders o", []string{"analytics.orders"}},
		{"database qualified", "select 1 from WAREHOUSE.Analytics.Orders", []string{"warehouse.analytics.orders"}},
		{"case insensitive keywords", "SeLeCt * FrOm a JoIn b On a.id = b.id", []string{"a", "b"}},
		{"double quoted", `select * from "Analytics"."Order Items"`, []string{"analytics.order items"}},
		{"doubled quote inside", `select * from "we""ird"`, []string{`we"ird`}},
		{"backticks per part", "select * from `proj`.`ds`.`t`", []string{"proj.ds.t"}},
		{"backticks whole path", "select * from `my-proj.ds.events`", []string{"my-proj.ds.events"}},
		{"unquoted bigquery project", "select * from my-proj.ds.events", []string{"my-proj.ds.events"}},
		{"brackets", "select * from [dbo].[Orders]", []string{"dbo.orders"}},
		{"mixed quoting", `select * from db."Schema".[t]`, []string{"db.schema.t"}},
		{"from a, b", "select * from a, b as bb, c.d cc where a.x = b.x", []string{"a", "b", "c.d"}},
		{"join variants", `select * from a
			inner join b on true left join c on true left outer join d on true
			right join e on true full outer join f on true cross join g
			natural join h join i using (id) left semi join j on true`,
			[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}},
		{"comma after join", "select * from a join b on a.x = b.x, c", []string{"a", "b", "c"}},
		{"subquery in from", "select * from (select * from inner_t) sub join other on true", []string{"inner_t", "other"}},
		{"subquery in where", "select * from a where id in (select id from b) and exists (select 1 from c)", []string{"a", "b", "c"}},
		{"scalar subquery", "select (select max(x) from m) as mx from a", []string{"m", "a"}},
		{"nested parens join", "select * from (a join (b join c on true) on true)", []string{"a", "b", "c"}},
		{"cte shadows table", "with orders as (select * from raw.orders) select * from orders join customers on true",
			[]string{"raw.orders", "customers"}},
		{"several ctes", `WITH a AS (SELECT * FROM t1), b (x, y) AS (SELECT * FROM a JOIN t2 ON true)
			SELECT * FROM b, a`, []string{"t1", "t2"}},
		{"recursive cte", "with recursive r as (select 1 union all select n+1 from r where n < 5) select * from r", []string{}},
		{"materialized cte", "with m as materialized (select * from t) select * from m", []string{"t"}},
		{"qualified name not shadowed", "with orders as (select 1) select * from orders, analytics.orders", []string{"analytics.orders"}},
		{"cte scoped to subquery", "select * from (with x as (select * from t) select * from x) s join x on true", []string{"t", "x"}},
		{"extract from", "select extract(year from created_at) as y from orders", []string{"orders"}},
		{"substring trim from", "select substring(name from 2 for 3), trim(both ' ' from name) from people", []string{"people"}},
		{"is distinct from", "select * from a where a.x is distinct from a.y and a.z is not distinct from 1", []string{"a"}},
		{"from in line comment", "select 1 -- from secret\nfrom visible", []string{"visible"}},
		{"from in block comment", "select /* from hidden join h2 */ 1 from visible", []string{"visible"}},
		{"from in string", "select 'from fake join f2' as s from visible where x = 'a''from b'", []string{"visible"}},
		{"backslash escaped string", `select 'it\'s from fake' from visible`, []string{"visible"}},
		{"backslash literal string", `select 'C:\' as p from visible`, []string{"visible"}},
		{"dollar string", "select $$ from fake $$, $tag$ from f $tag$ from visible", []string{"visible"}},
		{"duplicates", "select * from a join a on true join A on true", []string{"a"}},
		{"table function", "select * from generate_series(1, 10) g, lateral flatten(input => t.v) f, t", []string{"t"}},
		{"unnest", "select * from t cross join unnest(t.arr) as x", []string{"t"}},
		{"lateral subquery", "select * from a, lateral (select * from b where b.id = a.id) l", []string{"a", "b"}},
		{"keyword-named table", "select * from sample join window on true", []string{"sample", "window"}},
		{"statements", "select * from a; with a as (select 1) select * from a; select * from b", []string{"a", "b"}},
		{"union", "select x from a union all select x from b except select x from c", []string{"a", "b", "c"}},
		{"group order limit", "select x, count(*) from a group by x, y order by 1, 2 limit 5", []string{"a"}},
		{"merge using", "merge into target t using source_t s on t.id = s.id when matched then update set x = 1", []string{"source_t"}},
		{"insert select", "insert into dest select * from src", []string{"src"}},
		{"file literal", "select * from 'data.csv' d", []string{}},
		{"star", "select a.* from a", []string{"a"}},
		{"values", "select * from (values (1), (2)) v(x)", []string{}},
		{"window functions", "select sum(x) over (partition by a, b order by c) from t", []string{"t"}},
		{"cast with time zone", "select x::timestamp with time zone from t", []string{"t"}},
		{"unterminated", "select * from a join \"b", []string{"a", "b"}},
		{"empty", "", []string{}},
		{"only comment", "-- nothing", []string{}},
		{"unicode", "select * from café.mesas", []string{"café.mesas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := refStrings(Extract(tt.sql)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Extract(%q) = %q, want %q", tt.sql, got, tt.want)
			}
		})
	}
}

func TestExtractTemplating(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		sql         string
		refs        []string
		definitions []string
		templated   []string
	}{
		{"mode definition", "select * from {{ @join_on_definition as rental }} join staff on staff.id = rental.id",
			[]string{"staff"}, []string{"join_on_definition"}, nil},
		{"definition without alias", "select * from {{@base}} b", []string{}, []string{"base"}, nil},
		{"parameter in where", "select * from orders where created_at > '{{ start_date }}' and x = {{ n }}",
			[]string{"orders"}, nil, nil},
		{"templated table", "select * from {{ table_param }} t join dim on true", []string{"dim"}, nil, []string{"{{ table_param }}"}},
		{"templated schema", "select * from {{ schema }}.orders", []string{}, nil, []string{"{{ schema }}.orders"}},
		{"templated suffix", "select * from analytics.orders_{{ suffix }} o", []string{}, nil, []string{"analytics.orders_{{ suffix }}"}},
		{"form block", `select * from orders where region = '{{ region }}'
			{% form %}
			region:
			  type: select
			  default: from_everywhere join nothing
			  options: [a, b]
			{% endform %}`, []string{"orders"}, nil, nil},
		{"if else branches", "select * from {% if big %} big_orders {% else %} small_orders {% endif %} o",
			[]string{"big_orders", "small_orders"}, nil, nil},
		{"if around join", "select * from a {% if x %} join b on true {% endif %} where 1=1", []string{"a", "b"}, nil, nil},
		{"liquid comment", "select * from a {% comment %} from b {% endcomment %} {# from c #}", []string{"a"}, nil, nil},
		{"whitespace control", "select * from {%- if x -%} a {%- endif -%}", []string{"a"}, nil, nil},
		{"unclosed template", "select * from a where {{ oops", []string{"a"}, nil, nil},
		{"assign tag", `{% assign t = "from fake" %} select * from real_t`, []string{"real_t"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := Extract(tt.sql)
			if got := refStrings(x); !reflect.DeepEqual(got, tt.refs) {
				t.Errorf("refs = %q, want %q", got, tt.refs)
			}
			if !reflect.DeepEqual(x.Definitions, tt.definitions) {
				t.Errorf("definitions = %q, want %q", x.Definitions, tt.definitions)
			}
			if !reflect.DeepEqual(x.Templated, tt.templated) {
				t.Errorf("templated = %q, want %q", x.Templated, tt.templated)
			}
		})
	}
}

func TestExtractRefPosition(t *testing.T) {
	t.Parallel()
	sql := `select * from  "Analytics" . orders`
	x := Extract(sql)
	if len(x.Refs) != 1 {
		t.Fatalf("refs = %v", x.Refs)
	}
	r := x.Refs[0]
	if r.Text != `"Analytics" . orders` || r.Offset != 15 || r.Name() != "orders" {
		t.Errorf("ref = %+v", r)
	}
}

// The real Mode queries of the fixtures: the one query uses a definition
// and a join; each report's query_preview is SQL too.
func TestExtractModeFixtures(t *testing.T) {
	t.Parallel()
	var doc struct {
		Embedded struct {
			Queries []struct {
				RawQuery string `json:"raw_query"`
			} `json:"queries"`
		} `json:"_embedded"`
	}
	data, err := os.ReadFile(fixtures.Real(t, "mode", "datahub_integration_setup", "queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	x := Extract(doc.Embedded.Queries[0].RawQuery)
	if got := refStrings(x); !reflect.DeepEqual(got, []string{"staff"}) || !reflect.DeepEqual(x.Definitions, []string{"join_on_definition"}) {
		t.Errorf("refs = %q, definitions = %q", got, x.Definitions)
	}
	preview := "SELECT\n\tcustomer.customer_id,\n\tfirst_name,\n\tlast_name,\n\tamount,\n\tpayment_date\nFROM\n\tcustomer\nINNER JOIN public.payment \n"
	if got := refStrings(Extract(preview)); !reflect.DeepEqual(got, []string{"customer", "public.payment"}) {
		t.Errorf("preview refs = %q", got)
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"select * from a join b on a.id = b.id",
		"with x as (select * from t) select * from x, y",
		"select extract(year from c) from t where a is distinct from b",
		"select * from {{ @def as d }} join `p.d.t` on true {% form %} x: y {% endform %}",
		"select 'it''s' from \"q\"\"x\".[y] -- c\n/* d */",
		"select $a$ x $a$ from {% if a %} b {% else %} c {% endif %}",
		"(((", "from", "{{", "{%", "'", "\"", "`", "[", "$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		x := Extract(sql)
		for _, r := range x.Refs {
			if len(r.Parts) == 0 || len(r.Parts) > 3 {
				t.Fatalf("ref with %d parts: %+v", len(r.Parts), r)
			}
			if r.Offset < 0 || r.Offset+len(r.Text) > len(sql) || sql[r.Offset:r.Offset+len(r.Text)] != r.Text {
				t.Fatalf("ref text %q not at offset %d", r.Text, r.Offset)
			}
			if utf8.ValidString(sql) && !utf8.ValidString(r.String()) {
				t.Fatalf("invalid UTF-8 ref from valid input: %q", r.String())
			}
			// A comment-free, string-free query must have the ref in it.
			if !strings.ContainsAny(sql, "'\"`[$") && !strings.Contains(strings.ToLower(sql), r.Name()) {
				t.Fatalf("ref %q not in query", r.Name())
			}
		}
		// Splitting what Extract found as a relation name must be stable.
		for _, r := range x.Refs {
			_ = SplitName(r.Text)
		}
	})
}
