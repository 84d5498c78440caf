package dbt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/meta/dbt"
	"github.com/sluice-dev/sluice/engine/meta/internal/fixtures"
	"github.com/sluice-dev/sluice/engine/meta/internal/synth"
)

func TestReadManifestFixtures(t *testing.T) {
	t.Parallel()
	// Expected figures were counted with Python's json module over the same
	// files (see testdata/meta/README.md).
	tests := []struct {
		name                                  string
		version                               int
		project, adapter                      string
		models, localModels, seeds, snapshots int
		sources, exposures                    int
		kept, parentEdges                     int
	}{
		{"dbtcore_state__v10", 10, "test", "postgres", 2, 2, 1, 1, 1, 1, 11, 8},
		{"dbtcore_state__v11", 11, "test", "postgres", 2, 2, 1, 1, 1, 1, 11, 8},
		{"dbtcore_state__v12", 12, "test", "postgres", 2, 2, 1, 1, 1, 1, 11, 8},
		{"jaffle_shop__v10__dbt1.6.0__bigquery", 10, "jaffle_shop", "bigquery", 6, 6, 3, 0, 0, 0, 9, 8},
		{"jaffle_shop__v11__dbt1.7.0__bigquery", 11, "jaffle_shop", "bigquery", 35, 5, 3, 0, 0, 0, 38, 33},
		{"jaffle_shop__v12__dbt1.10.13__duckdb", 12, "jaffle_shop", "duckdb", 13, 13, 0, 0, 6, 0, 47, 57},
		{"jaffle_shop__v12__dbt1.12.0__duckdb", 12, "jaffle_shop", "duckdb", 13, 13, 6, 0, 6, 0, 57, 61},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := dbt.ReadManifestFile(fixtures.Manifest(t, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != tt.version || m.Metadata.ProjectName != tt.project || m.Metadata.AdapterType != tt.adapter {
				t.Errorf("version/project/adapter = %d/%q/%q", m.Version, m.Metadata.ProjectName, m.Metadata.AdapterType)
			}
			count := func(typ string) int { return len(m.IDs(typ)) }
			local := 0
			for _, id := range m.IDs(dbt.Model) {
				if m.IsLocal(m.Nodes[id]) {
					local++
				}
			}
			got := []int{count(dbt.Model), local, count(dbt.Seed), count(dbt.Snapshot), count(dbt.Source), count(dbt.Exposure), len(m.Nodes)}
			want := []int{tt.models, tt.localModels, tt.seeds, tt.snapshots, tt.sources, tt.exposures, tt.kept}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("models, local, seeds, snapshots, sources, exposures, kept = %v, want %v", got, want)
			}
			edges := 0
			for child, parents := range m.ParentMap {
				for _, p := range parents {
					edges++
					if !contains(m.ChildMap[p], child) {
						t.Errorf("child_map[%s] lacks %s", p, child)
					}
				}
			}
			if edges != tt.parentEdges {
				t.Errorf("parent_map edges = %d, want %d", edges, tt.parentEdges)
			}
			for id, n := range m.Nodes {
				if strings.HasPrefix(id, "test.") || n.UniqueID != id {
					t.Errorf("node %q kept as %q", id, n.UniqueID)
				}
			}
		})
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

func TestReadManifestFields(t *testing.T) {
	t.Parallel()
	m, err := dbt.ReadManifestFile(fixtures.Manifest(t, "dbtcore_state__v12"))
	if err != nil {
		t.Fatal(err)
	}
	model := m.Nodes["model.test.my_model"]
	want := &dbt.Node{
		UniqueID: "model.test.my_model", ResourceType: "model", Name: "my_model", Package: "test",
		Database: "dbt", Schema: "test17594237163467600387_test_previous_version_state", Alias: "my_model",
		RelationName:     `"dbt"."test17594237163467600387_test_previous_version_state"."my_model"`,
		OriginalFilePath: "models/my_model.sql", PatchPath: "test://models/schema.yml",
		Tags: []string{}, Materialized: "view", DependsOn: []string{},
	}
	if !reflect.DeepEqual(model, want) {
		t.Errorf("my_model =\n%+v\nwant\n%+v", model, want)
	}
	if got := model.Files(); !reflect.DeepEqual(got, []string{"models/my_model.sql", "models/schema.yml"}) {
		t.Errorf("Files() = %v", got)
	}
	src := m.Nodes["source.test.my_source.my_table"]
	if src.Alias != "my_seed" || src.SourceName != "my_source" || src.Name != "my_table" {
		t.Errorf("source alias/source_name/name = %q/%q/%q", src.Alias, src.SourceName, src.Name)
	}
	exp := m.Nodes["exposure.test.simple_exposure"]
	if exp.ExposureType != "dashboard" || exp.OwnerEmail != "something@example.com" ||
		!reflect.DeepEqual(exp.DependsOn, []string{"source.test.my_source.my_table", "model.test.my_model"}) {
		t.Errorf("exposure = %+v", exp)
	}
	if got := m.ChildMap["model.test.my_model"]; !reflect.DeepEqual(got, []string{"exposure.test.simple_exposure", "semantic_model.test.semantic_people"}) {
		t.Errorf("child_map of my_model without tests = %v", got)
	}
	if got := m.ParentMap["metric.test.customers"]; !reflect.DeepEqual(got, []string{"semantic_model.test.semantic_people"}) {
		t.Errorf("parent_map of a metric = %v", got)
	}
	snap := m.Nodes["snapshot.test.snapshot_seed"]
	if snap.Materialized != "snapshot" || !reflect.DeepEqual(snap.DependsOn, []string{"seed.test.my_seed"}) {
		t.Errorf("snapshot = %+v", snap)
	}

	bq, err := dbt.ReadManifestFile(fixtures.Manifest(t, "jaffle_shop__v10__dbt1.6.0__bigquery"))
	if err != nil {
		t.Fatal(err)
	}
	c := bq.Nodes["model.jaffle_shop.customers"]
	if c.RelationName != "`your-project`.`jaffle_shop`.`customers`" || !c.HasTag("LightDash") || c.PatchFile() != "models/schema.yml" {
		t.Errorf("bigquery customers = %+v", c)
	}
}

func TestReadManifestRefusesUnknownVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
	}{
		{"v9", `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v9.json"},"nodes":{}}`, "manifest schema v9"},
		{"v13", `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v13.json"}}`, "supported: v10, v11, v12"},
		{"run results", `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/run-results/v6.json"}}`, "not a manifest schema"},
		{"no metadata", `{"nodes":{}}`, "no metadata.dbt_schema_version"},
		{"metadata last", `{"nodes":{"model.a.b":{"resource_type":"model"}},"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v7.json"}}`, "v7"},
		{"garbage version", `{"metadata":{"dbt_schema_version":"v12"}}`, "not a manifest schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dbt.ReadManifest(strings.NewReader(tt.doc))
			if !errors.Is(err, dbt.ErrUnsupportedVersion) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrUnsupportedVersion mentioning %q", err, tt.want)
			}
		})
	}
}

func TestReadManifestMalformed(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		``, `[]`, `{"metadata":`, `{"nodes":[1]}`, `{"nodes":{"a":{"tags":7}}}`,
		`{"parent_map":{"model.a.b":"x"}}`, `{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"}} trailing`,
	} {
		if _, err := dbt.ReadManifest(strings.NewReader(doc)); err == nil {
			t.Errorf("ReadManifest(%q) succeeded", doc)
		}
	}
}

func TestReadManifestSynthetic(t *testing.T) {
	t.Parallel()
	g := synth.DAG(2000, 7)
	data := synth.Manifest(g, synth.ManifestOptions{CodeBytes: 512, Tests: true})
	m, err := dbt.ReadManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(m.IDs(dbt.Model)); got != g.Models() {
		t.Errorf("models = %d, want %d", got, g.Models())
	}
	if got := len(m.Nodes); got != len(g.Names) {
		t.Errorf("kept nodes = %d, want %d (tests dropped)", got, len(g.Names))
	}
	edges := 0
	for _, ps := range m.ParentMap {
		edges += len(ps)
	}
	if edges != len(g.Edges) {
		t.Errorf("edges = %d, want %d", edges, len(g.Edges))
	}
	for _, e := range g.Edges[:50] {
		if !contains(m.ParentMap[g.Names[e[1]]], g.Names[e[0]]) {
			t.Errorf("edge %s → %s missing", g.Names[e[0]], g.Names[e[1]])
		}
	}
}

func FuzzReadManifest(f *testing.F) {
	// Seeds are the real manifests cut down to one member of each map:
	// the fuzzer minimises interesting inputs, which stalls on large ones.
	for _, name := range fixtures.Manifests[:3] {
		data, err := os.ReadFile(fixtures.Manifest(f, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(shrinkManifest(f, data, 1))
	}
	f.Add([]byte(`{"metadata":{"dbt_schema_version":"https://schemas.getdbt.com/dbt/manifest/v12.json"},"nodes":{"model.a.b":{"resource_type":"model","tags":"x","version":2}},"parent_map":{"model.a.b":["source.a.c"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := dbt.ReadManifest(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever decodes must satisfy the reader's promises.
		if m.Version < 10 || m.Version > 12 {
			t.Fatalf("accepted version %d", m.Version)
		}
		for _, mp := range []map[string][]string{m.ParentMap, m.ChildMap} {
			for id, list := range mp {
				if m.Nodes[id] == nil {
					t.Fatalf("map key %q is not a node", id)
				}
				for _, other := range list {
					if m.Nodes[other] == nil {
						t.Fatalf("map value %q is not a node", other)
					}
				}
			}
		}
	})
}

// shrinkManifest keeps metadata and the first n members of every other
// top-level object.
func shrinkManifest(f *testing.F, data []byte, n int) []byte {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		f.Fatal(err)
	}
	for key, raw := range doc {
		if key == "metadata" {
			continue
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &members) != nil {
			continue
		}
		small := map[string]json.RawMessage{}
		for _, k := range sortedKeys(members) {
			if len(small) == n {
				break
			}
			small[k] = members[k]
		}
		doc[key], _ = json.Marshal(small)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The semantic layer's details the clean-up needs: which model is the time
// spine, where semantic objects are declared, what a saved query exports.
func TestReadManifestSemanticLayer(t *testing.T) {
	t.Parallel()
	m, err := dbt.ReadManifestFile(fixtures.Manifest(t, "jaffle_shop__v12__dbt1.12.0__duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	var spines []string
	for _, id := range m.IDs(dbt.Model) {
		if m.Nodes[id].TimeSpine {
			spines = append(spines, id)
		}
	}
	if len(spines) != 1 || spines[0] != "model.jaffle_shop.metricflow_time_spine" {
		t.Errorf("time spines = %v", spines)
	}
	sq := m.Nodes["saved_query.jaffle_shop.order_metrics"]
	if sq == nil || len(sq.Exports) != 1 || sq.Exports[0] != "order_metrics" || sq.OriginalFilePath == "" {
		t.Errorf("saved query = %+v", sq)
	}
	if sm := m.Nodes["semantic_model.jaffle_shop.products"]; sm == nil || !strings.HasSuffix(sm.OriginalFilePath, ".yml") {
		t.Errorf("semantic model = %+v", sm)
	}
}
