package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ManifestOptions shape a generated manifest.
type ManifestOptions struct {
	// Project is metadata.project_name and every node's package ("synth").
	Project string
	// CodeBytes pads each model's raw_code and compiled_code, as real
	// projects carry kilobytes of SQL per model.
	CodeBytes int
	// Tests adds one not_null test per model, as real manifests have many.
	Tests bool
	// Schema is the schema of models ("analytics").
	Schema string
}

// Manifest renders g as a manifest.json of schema v12 with the fields the
// reader uses and the bulk it skips (code, columns, macros, tests).
func Manifest(g *Graph, o ManifestOptions) []byte {
	if o.Project == "" {
		o.Project = "synth"
	}
	if o.Schema == "" {
		o.Schema = "analytics"
	}
	parents := make([][]int, len(g.Names))
	children := make([][]int, len(g.Names))
	for _, e := range g.Edges {
		parents[e[1]] = append(parents[e[1]], e[0])
		children[e[0]] = append(children[e[0]], e[1])
	}
	code := strings.Repeat("-- padding to look like real SQL\n", o.CodeBytes/33+1)[:o.CodeBytes]

	var b bytes.Buffer
	js := func(v any) string {
		out, _ := json.Marshal(v)
		return string(out)
	}
	ids := func(list []int) string {
		names := make([]string, len(list))
		for i, p := range list {
			names[i] = g.Names[p]
		}
		return js(names)
	}
	short := func(i int) string { return g.Names[i][strings.LastIndexByte(g.Names[i], '.')+1:] }

	fmt.Fprintf(&b, `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json","dbt_version":"1.10.0","generated_at":"2025-01-01T00:00:00Z","project_name":%s,"adapter_type":"postgres"},`, js(o.Project))
	b.WriteString(`"nodes":{`)
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	for i, kind := range g.Kinds {
		if kind != "model" {
			continue
		}
		name := short(i)
		sep()
		fmt.Fprintf(&b, `%s:{"database":"warehouse","schema":%s,"name":%s,"resource_type":"model","package_name":%s,"path":%s,"original_file_path":%s,"unique_id":%s,"fqn":[%s,%s],"alias":%s,"checksum":{"name":"sha256","checksum":"0"},"config":{"enabled":true,"materialized":"table","tags":[]},"tags":[],"description":"","columns":{"id":{"name":"id","description":"","meta":{},"data_type":null,"tags":[]}},"meta":{},"patch_path":%s,"raw_code":%s,"compiled_code":%s,"relation_name":%s,"depends_on":{"macros":[],"nodes":%s}}`,
			js(g.Names[i]), js(o.Schema), js(name), js(o.Project), js(name+".sql"),
			js("models/"+name+".sql"), js(g.Names[i]), js(o.Project), js(name), js(name),
			js(o.Project+"://models/"+name+".yml"), js(code), js(code),
			js(fmt.Sprintf(`"warehouse".%q.%q`, o.Schema, name)), ids(parents[i]))
		if o.Tests {
			b.WriteByte(',')
			tid := fmt.Sprintf("test.%s.not_null_%s_id", o.Project, name)
			fmt.Fprintf(&b, `%s:{"resource_type":"test","name":"not_null","package_name":%s,"unique_id":%s,"raw_code":%s,"depends_on":{"macros":["macro.dbt.test_not_null"],"nodes":[%s]}}`,
				js(tid), js(o.Project), js(tid), js("{{ test_not_null(**_dbt_generic_test_kwargs) }}"), js(g.Names[i]))
		}
	}
	b.WriteString(`},"sources":{`)
	first = true
	for i, kind := range g.Kinds {
		if kind != "source" {
			continue
		}
		name := short(i)
		sep()
		fmt.Fprintf(&b, `%s:{"database":"warehouse","schema":"raw","name":%s,"resource_type":"source","package_name":%s,"source_name":"raw","identifier":%s,"original_file_path":"models/sources.yml","unique_id":%s,"relation_name":%s,"tags":[]}`,
			js(g.Names[i]), js(name), js(o.Project), js(name), js(g.Names[i]), js(fmt.Sprintf(`"warehouse"."raw".%q`, name)))
	}
	b.WriteString(`},"macros":{"macro.dbt.test_not_null":{"name":"test_not_null","macro_sql":"{% macro test_not_null(model, column_name) %}select 1{% endmacro %}"}},"docs":{},"exposures":{`)
	first = true
	for i, kind := range g.Kinds {
		if kind != "exposure" {
			continue
		}
		sep()
		fmt.Fprintf(&b, `%s:{"name":%s,"resource_type":"exposure","package_name":%s,"unique_id":%s,"type":"dashboard","owner":{"email":"data@example.com"},"original_file_path":"models/exposures.yml","depends_on":{"macros":[],"nodes":%s}}`,
			js(g.Names[i]), js(short(i)), js(o.Project), js(g.Names[i]), ids(parents[i]))
	}
	b.WriteString(`},"metrics":{},"groups":{},"selectors":{},"disabled":{},"parent_map":{`)
	first = true
	testOf := func(i int) string { return fmt.Sprintf("test.%s.not_null_%s_id", o.Project, short(i)) }
	for i := range g.Names {
		sep()
		fmt.Fprintf(&b, `%s:%s`, js(g.Names[i]), ids(parents[i]))
		if o.Tests && g.Kinds[i] == "model" {
			fmt.Fprintf(&b, `,%s:[%s]`, js(testOf(i)), js(g.Names[i]))
		}
	}
	b.WriteString(`},"child_map":{`)
	first = true
	for i := range g.Names {
		sep()
		list := ids(children[i])
		if o.Tests && g.Kinds[i] == "model" {
			// Tests are children of the model they test, as in dbt.
			list = strings.TrimSuffix(list, "]")
			if len(children[i]) > 0 {
				list += ","
			}
			list += js(testOf(i)) + "]"
			fmt.Fprintf(&b, `%s:%s,%s:[]`, js(g.Names[i]), list, js(testOf(i)))
			continue
		}
		fmt.Fprintf(&b, `%s:%s`, js(g.Names[i]), list)
	}
	b.WriteString(`},"group_map":{},"saved_queries":{},"semantic_models":{},"unit_tests":{}}`)
	return b.Bytes()
}
