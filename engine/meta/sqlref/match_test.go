package sqlref_test

import (
	"reflect"
	"testing"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
	"github.com/sluice-dev/sluice/engine/meta/sqlref"
)

func TestSplitName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{`"jaffle_shop"."main"."Orders"`, []string{"jaffle_shop", "main", "orders"}},
		{"`your-project`.`jaffle_shop`.`customers`", []string{"your-project", "jaffle_shop", "customers"}},
		{"`proj.ds.t`", []string{"proj", "ds", "t"}},
		{"[db].[dbo].[t]", []string{"db", "dbo", "t"}},
		{"analytics.orders", []string{"analytics", "orders"}},
		{`"we.ird"."t"`, []string{"we.ird", "t"}},
		{"", nil},
		{"a b", nil},
		{"a.", nil},
		{"a(b)", nil},
	}
	for _, tt := range tests {
		if got := sqlref.SplitName(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIndexMatch(t *testing.T) {
	t.Parallel()
	ix := sqlref.NewIndex([]sqlref.Relation{
		{ID: "model.p.orders", Database: "prod", Schema: "analytics", Alias: "orders", RelationName: `"prod"."analytics"."orders"`},
		{ID: "model.p.stg_orders", Database: "prod", Schema: "staging", Alias: "orders", RelationName: `"prod"."staging"."orders"`},
		{ID: "model.p.customers", Database: "prod", Schema: "analytics", Alias: "customers", RelationName: `"prod"."analytics"."customers"`},
		{ID: "seed.p.raw_items", Database: "prod", Schema: "raw", Alias: "raw_items", RelationName: `"prod"."raw"."raw_items"`},
		{ID: "source.p.ecom.raw_items", Database: "prod", Schema: "raw", Alias: "raw_items", RelationName: `"prod"."raw"."raw_items"`},
		{ID: "model.p.ephemeral", Schema: "analytics", Alias: "", RelationName: ""},
		{ID: "model.p.bq", Database: "proj", Schema: "ds", Alias: "events", RelationName: "`proj`.`ds`.`events`"},
	})
	tests := []struct {
		ref  string
		ids  []string
		kind sqlref.MatchKind
	}{
		{`select * from prod.analytics.orders`, []string{"model.p.orders"}, sqlref.ByRelationName},
		{`select * from "PROD"."ANALYTICS"."ORDERS"`, []string{"model.p.orders"}, sqlref.ByRelationName},
		{`select * from dev.analytics.orders`, []string{"model.p.orders"}, sqlref.BySchemaAlias},
		{`select * from staging.orders`, []string{"model.p.stg_orders"}, sqlref.BySchemaAlias},
		{`select * from orders`, nil, 0}, // two relations are called orders
		{`select * from customers`, []string{"model.p.customers"}, sqlref.ByAlias},
		{`select * from raw_items`, []string{"seed.p.raw_items", "source.p.ecom.raw_items"}, sqlref.ByAlias},
		{`select * from raw.raw_items`, []string{"seed.p.raw_items", "source.p.ecom.raw_items"}, sqlref.BySchemaAlias},
		{`select * from other.customers`, nil, 0},
		{"select * from `proj.ds.events`", []string{"model.p.bq"}, sqlref.ByRelationName},
		{`select * from ephemeral`, nil, 0},
		{`select * from nowhere`, nil, 0},
	}
	for _, tt := range tests {
		x := sqlref.Extract(tt.ref)
		if len(x.Refs) != 1 {
			t.Fatalf("%s: refs = %v", tt.ref, x.Refs)
		}
		ids, kind := ix.Match(x.Refs[0])
		if !reflect.DeepEqual(ids, tt.ids) || kind != tt.kind {
			t.Errorf("%s: Match = %v by %v, want %v by %v", tt.ref, ids, kind, tt.ids, tt.kind)
		}
	}

	ix.Loose = true
	ids, kind := ix.Match(sqlref.Extract("select * from dbt_alice.customers").Refs[0])
	if !reflect.DeepEqual(ids, []string{"model.p.customers"}) || kind != sqlref.ByAlias {
		t.Errorf("loose: Match = %v by %v", ids, kind)
	}
}

// Every relation of every real manifest is found again from the way the
// adapter quotes it, and from schema.alias written bare.
func TestIndexMatchesManifestRelations(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures.Manifests {
		m, err := dbt.ReadManifestFile(fixtures.Manifest(t, name))
		if err != nil {
			t.Fatal(err)
		}
		var rels []sqlref.Relation
		for _, n := range m.Nodes {
			rels = append(rels, sqlref.Relation{ID: n.UniqueID, Database: n.Database, Schema: n.Schema, Alias: n.Alias, RelationName: n.RelationName})
		}
		ix := sqlref.NewIndex(rels)
		checked := 0
		for _, n := range m.Nodes {
			if n.RelationName == "" {
				continue
			}
			checked++
			for _, sql := range []string{"select * from " + n.RelationName, "select * from " + n.Schema + "." + n.Alias} {
				x := sqlref.Extract(sql)
				if len(x.Refs) != 1 {
					t.Fatalf("%s: %s: refs = %v", name, sql, x.Refs)
				}
				ids, _ := ix.Match(x.Refs[0])
				if !contains(ids, n.UniqueID) {
					t.Errorf("%s: %s matched %v, not %s", name, sql, ids, n.UniqueID)
				}
			}
		}
		if checked == 0 {
			t.Errorf("%s: no relations", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
