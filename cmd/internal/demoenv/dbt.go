package demoenv

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The demo dbt project: a small shop analytics project, laid out as dbt
// lays one out, with the manifest dbt would write for it. It is generated
// (not copied from a real project) so that every file the manifest names
// exists and the analysis has something to say: two models nobody reads,
// one read only by a stale report, and models the live Mode reports read.
const (
	dbtProject  = "shop"
	dbtDatabase = "analytics"
)

// dbtModel is one model of the demo project.
type dbtModel struct {
	name   string
	folder string // below models/; also the schema
	desc   string
	sql    string
	tags   []string
	// ranOn says on which of the history's days (0 = today, 13 = two
	// weeks ago) the model ran; nil: every day.
	ranOn func(daysAgo int, weekday time.Weekday) bool
}

var dbtSources = []struct{ name, desc string }{
	{"customers", "One row per customer, from the shop's database."},
	{"orders", "One row per order."},
	{"payments", "One row per payment attempt."},
	{"products", "The product catalogue."},
}

var dbtModels = []dbtModel{
	{name: "stg_customers", folder: "staging", desc: "Customers, renamed and typed.", sql: `select
    id as customer_id,
    lower(email) as email,
    first_name,
    last_name,
    cc.country_name
from {{ source('raw', 'customers') }} c
left join {{ ref('country_codes') }} cc on cc.code = c.country_code
`},
	{name: "stg_orders", folder: "staging", desc: "Orders with their status.", sql: `select
    id as order_id,
    user_id as customer_id,
    order_date,
    status
from {{ source('raw', 'orders') }}
`},
	{name: "stg_payments", folder: "staging", desc: "Payments in dollars.", sql: `select
    id as payment_id,
    order_id,
    payment_method,
    amount / 100.0 as amount
from {{ source('raw', 'payments') }}
`},
	{name: "stg_products", folder: "staging", desc: "Products and their categories.", sql: `select
    id as product_id,
    name as product_name,
    category
from {{ source('raw', 'products') }}
`},
	{name: "customers", folder: "marts", desc: "One row per customer with lifetime value.", tags: []string{"core"}, sql: `with orders as (
    select * from {{ ref('stg_orders') }}
),
payments as (
    select * from {{ ref('stg_payments') }}
)
select
    c.customer_id,
    c.email,
    c.country_name,
    min(o.order_date) as first_order,
    count(distinct o.order_id) as number_of_orders,
    sum(p.amount) as lifetime_value
from {{ ref('stg_customers') }} c
left join orders o using (customer_id)
left join payments p using (order_id)
group by 1, 2, 3
`},
	{name: "orders", folder: "marts", desc: "One row per order with its amount.", tags: []string{"core"}, sql: `select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    sum(p.amount) as amount
from {{ ref('stg_orders') }} o
left join {{ ref('stg_payments') }} p using (order_id)
group by 1, 2, 3, 4
`},
	{name: "revenue_daily", folder: "marts", desc: "Revenue per day, for the finance dashboard.",
		ranOn: func(_ int, wd time.Weekday) bool { return wd != time.Saturday && wd != time.Sunday },
		sql: `select
    order_date as day,
    count(*) as orders,
    sum(amount) as revenue
from {{ ref('orders') }}
where status = 'completed'
group by 1
`},
	{name: "product_sales", folder: "marts", desc: "Units and revenue per product category.",
		ranOn: func(_ int, wd time.Weekday) bool { return wd != time.Saturday && wd != time.Sunday },
		sql: `select
    p.category,
    count(*) as units
from {{ ref('stg_orders') }} o
join {{ ref('stg_products') }} p on p.product_id = o.order_id % 40
group by 1
`},
	{name: "legacy_orders_v1", folder: "marts", desc: "The first version of orders, kept during the migration.",
		ranOn: func(_ int, wd time.Weekday) bool { return wd == time.Monday },
		sql: `-- Superseded by orders; kept until the migration is signed off.
select order_id, customer_id, order_date
from {{ ref('stg_orders') }}
`},
	{name: "tmp_customer_scores", folder: "scratch", desc: "An experiment with customer scoring.",
		ranOn: func(daysAgo int, _ time.Weekday) bool { return daysAgo >= 9 },
		sql: `select customer_id, lifetime_value / nullif(number_of_orders, 0) as score
from {{ ref('customers') }}
`},
}

// The properties files, with comments the deprecation branch must keep.
var dbtSchemaHeaders = map[string]string{
	"staging": "# Staging models: one per raw table, renamed and typed.\n",
	"marts":   "# Marts read by the dashboards. Owner: analytics-eng.\n",
	"scratch": "# Experiments. Delete what you do not use.\n",
}

// DBT is the generated project's layout.
type DBT struct {
	// Repo is the project's git checkout (the user's working tree: the
	// review flow only reads it); Remote is its bare origin.
	Repo, Remote string
	// Manifest is target/manifest.json; RunResults the folder of archived
	// run_results files.
	Manifest, RunResults string
}

func modelID(name string) string  { return "model." + dbtProject + "." + name }
func sourceID(name string) string { return "source." + dbtProject + ".raw." + name }
func seedID(name string) string   { return "seed." + dbtProject + "." + name }

func relation(schema, name string) string {
	return fmt.Sprintf("%q.%q.%q", dbtDatabase, schema, name)
}

// dependencies reads a model's refs and sources from its SQL, as dbt's
// parser does.
func dependencies(sql string) []string {
	var deps []string
	for _, part := range strings.Split(sql, "{{")[1:] {
		call := strings.TrimSpace(part[:strings.Index(part, "}}")])
		args := strings.FieldsFunc(call[strings.IndexByte(call, '(')+1:], func(r rune) bool {
			return r == '\'' || r == ',' || r == ' ' || r == ')'
		})
		switch {
		case strings.HasPrefix(call, "source("):
			deps = append(deps, sourceID(args[1]))
		case strings.HasPrefix(call, "ref(") && args[0] == "country_codes":
			deps = append(deps, seedID(args[0]))
		case strings.HasPrefix(call, "ref("):
			deps = append(deps, modelID(args[0]))
		}
	}
	sort.Strings(deps)
	return deps
}

// writeDBTProject writes the project's files into dir, and the manifest and
// run history into dir/target (ignored by git, as in any dbt project). It
// returns the project's files, the ones to commit.
func writeDBTProject(dir string, now time.Time) (DBT, []string, error) {
	p := DBT{
		Repo:       dir,
		Manifest:   filepath.Join(dir, "target", "manifest.json"),
		RunResults: filepath.Join(dir, "target", "run_results"),
	}
	files := map[string]string{
		".gitignore":              "target/\ndbt_packages/\nlogs/\n",
		"dbt_project.yml":         "name: " + dbtProject + "\nversion: '1.0.0'\nprofile: " + dbtProject + "\n\nmodel-paths: [\"models\"]\nseed-paths: [\"seeds\"]\n\nmodels:\n  " + dbtProject + ":\n    staging:\n      +materialized: view\n    marts:\n      +materialized: table\n",
		"README.md":               "# shop analytics\n\nThe dbt project behind the shop's dashboards (Sluice demo).\n",
		"seeds/country_codes.csv": "code,country_name\nDE,Germany\nFR,France\nNL,Netherlands\nUS,United States\n",
	}
	var srcYAML strings.Builder
	srcYAML.WriteString("version: 2\n\nsources:\n  - name: raw\n    database: " + dbtDatabase + "\n    schema: raw\n    tables:\n")
	for _, s := range dbtSources {
		fmt.Fprintf(&srcYAML, "      - name: %s\n        description: %s\n", s.name, s.desc)
	}
	files["models/staging/sources.yml"] = srcYAML.String()
	schemas := map[string]*strings.Builder{}
	for _, m := range dbtModels {
		files["models/"+m.folder+"/"+m.name+".sql"] = m.sql
		b := schemas[m.folder]
		if b == nil {
			b = &strings.Builder{}
			b.WriteString(dbtSchemaHeaders[m.folder] + "version: 2\n\nmodels:\n")
			schemas[m.folder] = b
		}
		fmt.Fprintf(b, "  - name: %s\n    description: %s\n", m.name, m.desc)
		if len(m.tags) > 0 {
			fmt.Fprintf(b, "    config:\n      tags: [%s]\n", strings.Join(m.tags, ", "))
		}
		if m.name == "customers" {
			b.WriteString("    columns:\n      - name: customer_id\n        tests: [unique, not_null]\n")
		}
		if m.name == "legacy_orders_v1" {
			b.WriteString("    # TODO(analytics-eng): drop once orders is signed off.\n")
		}
	}
	for folder, b := range schemas {
		files["models/"+folder+"/schema.yml"] = b.String()
	}
	var paths []string
	for name, content := range files {
		if err := writeFile(filepath.Join(dir, name), []byte(content)); err != nil {
			return p, nil, err
		}
		paths = append(paths, name)
	}
	sort.Strings(paths)
	manifest, err := json.MarshalIndent(dbtManifest(now), "", "  ")
	if err != nil {
		return p, nil, err
	}
	if err := writeFile(p.Manifest, manifest); err != nil {
		return p, nil, err
	}
	return p, paths, writeRunResults(p.RunResults, now)
}

// dbtManifest is the manifest dbt 1.9 would write for the project: the
// members the metapipeline reads, in schema v12.
func dbtManifest(now time.Time) map[string]any {
	nodes := map[string]any{}
	sources := map[string]any{}
	parents := map[string][]string{}
	children := map[string][]string{}
	link := func(child string, deps []string) {
		parents[child] = deps
		if children[child] == nil {
			children[child] = []string{}
		}
		for _, d := range deps {
			children[d] = append(children[d], child)
		}
	}
	for _, s := range dbtSources {
		id := sourceID(s.name)
		sources[id] = map[string]any{
			"unique_id": id, "resource_type": "source", "name": s.name, "source_name": "raw",
			"package_name": dbtProject, "database": dbtDatabase, "schema": "raw", "identifier": s.name,
			"relation_name": relation("raw", s.name), "original_file_path": "models/staging/sources.yml",
			"description": s.desc, "tags": []string{},
		}
		link(id, []string{})
	}
	seed := seedID("country_codes")
	nodes[seed] = map[string]any{
		"unique_id": seed, "resource_type": "seed", "name": "country_codes", "package_name": dbtProject,
		"database": dbtDatabase, "schema": "seeds", "alias": "country_codes",
		"relation_name": relation("seeds", "country_codes"), "original_file_path": "seeds/country_codes.csv",
		"config": map[string]any{"materialized": "seed"}, "depends_on": map[string]any{"nodes": []string{}}, "tags": []string{},
	}
	link(seed, []string{})
	for _, m := range dbtModels {
		id := modelID(m.name)
		deps := dependencies(m.sql)
		materialized := "table"
		if m.folder == "staging" {
			materialized = "view"
		}
		tags := m.tags
		if tags == nil {
			tags = []string{}
		}
		nodes[id] = map[string]any{
			"unique_id": id, "resource_type": "model", "name": m.name, "package_name": dbtProject,
			"database": dbtDatabase, "schema": m.folder, "alias": m.name,
			"relation_name":      relation(m.folder, m.name),
			"original_file_path": "models/" + m.folder + "/" + m.name + ".sql",
			"path":               m.folder + "/" + m.name + ".sql",
			"patch_path":         dbtProject + "://models/" + m.folder + "/schema.yml",
			"description":        m.desc, "tags": tags, "raw_code": m.sql,
			"config":     map[string]any{"materialized": materialized, "tags": tags},
			"depends_on": map[string]any{"nodes": deps, "macros": []string{}},
		}
		link(id, deps)
	}
	// dbt lists tests among the children; the reader must leave them out.
	for _, col := range []string{"unique", "not_null"} {
		id := "test." + dbtProject + "." + col + "_customers_customer_id.demo"
		nodes[id] = map[string]any{"unique_id": id, "resource_type": "test", "name": col + "_customers_customer_id",
			"package_name": dbtProject, "depends_on": map[string]any{"nodes": []string{modelID("customers")}}}
		link(id, []string{modelID("customers")})
	}
	for _, list := range children {
		sort.Strings(list)
	}
	return map[string]any{
		"metadata": map[string]any{
			"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
			"dbt_version":        "1.9.1",
			"generated_at":       now.UTC().Format(time.RFC3339Nano),
			"invocation_id":      "00000000-0000-4000-8000-00000000demo",
			"project_name":       dbtProject,
			"adapter_type":       "duckdb",
		},
		"nodes": nodes, "sources": sources, "exposures": map[string]any{},
		"metrics": map[string]any{}, "semantic_models": map[string]any{}, "saved_queries": map[string]any{},
		"macros": map[string]any{}, "docs": map[string]any{}, "groups": map[string]any{},
		"selectors": map[string]any{}, "disabled": map[string]any{},
		"parent_map": parents, "child_map": children, "group_map": map[string]any{},
	}
}

// writeRunResults archives two weeks of nightly `dbt build` results, one
// file a day, so the pane's models-per-day chart has a history.
func writeRunResults(dir string, now time.Time) error {
	for daysAgo := 13; daysAgo >= 0; daysAgo-- {
		at := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, time.UTC).AddDate(0, 0, -daysAgo)
		var results []map[string]any
		for i, m := range dbtModels {
			if m.ranOn != nil && !m.ranOn(daysAgo, at.Weekday()) {
				continue
			}
			results = append(results, map[string]any{
				"unique_id": modelID(m.name), "status": "success",
				"execution_time": 0.4 + float64((i*7+daysAgo*3)%17)/4,
				"thread_id":      "Thread-1", "adapter_response": map[string]any{}, "message": "OK",
				"failures": nil, "timing": []any{},
			})
		}
		doc := map[string]any{
			"metadata": map[string]any{
				"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
				"dbt_version":        "1.9.1",
				"generated_at":       at.Format(time.RFC3339Nano),
			},
			"args":         map[string]any{"which": "build"},
			"elapsed_time": 42.0,
			"results":      results,
		}
		data, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, "run_results_"+at.Format("20060102")+".json"), data); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
