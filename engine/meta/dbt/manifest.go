// Package dbt reads dbt's artifacts: manifest.json (schema v10 to v12, dbt
// 1.6 to 1.12) and folders of archived run_results.json files. It keeps only
// what the metapipeline needs and streams the manifest member by member, so a
// 100 MB manifest is never held as a tree or as several copies.
package dbt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Resource types the reader keeps. Tests, analyses, operations, unit tests,
// macros and docs are dropped while decoding.
const (
	Model         = "model"
	Seed          = "seed"
	Snapshot      = "snapshot"
	Source        = "source"
	Exposure      = "exposure"
	SemanticModel = "semantic_model"
	Metric        = "metric"
	SavedQuery    = "saved_query"
)

// SupportedManifestVersions are the manifest schema versions the reader knows.
var SupportedManifestVersions = []int{10, 11, 12}

// ErrUnsupportedVersion is returned for a manifest or run_results file whose
// schema version the reader does not know.
var ErrUnsupportedVersion = errors.New("unsupported dbt artifact schema version")

// Metadata is the manifest's metadata block.
type Metadata struct {
	SchemaVersion string `json:"dbt_schema_version"`
	DBTVersion    string `json:"dbt_version"`
	GeneratedAt   string `json:"generated_at"`
	ProjectName   string `json:"project_name"`
	AdapterType   string `json:"adapter_type"`
}

// Manifest is the part of a dbt manifest the metapipeline uses.
type Manifest struct {
	Metadata Metadata
	// Version is the schema version number (10, 11 or 12).
	Version int
	// Nodes holds models, seeds, snapshots, sources and exposures, plus the
	// semantic models, metrics and saved queries that sit between models and
	// exposures. Keyed by unique_id.
	Nodes map[string]*Node
	// ParentMap and ChildMap are the manifest's maps restricted to Nodes:
	// tests and other dropped kinds are filtered out of keys and values.
	ParentMap map[string][]string
	ChildMap  map[string][]string
}

// Node is one resource of the manifest.
type Node struct {
	UniqueID     string
	ResourceType string
	Name         string
	Package      string
	Database     string
	Schema       string
	// Alias is the relation's name: the alias of a model, seed or snapshot,
	// the identifier of a source.
	Alias            string
	RelationName     string
	OriginalFilePath string
	// PatchPath is the YAML properties file, as dbt writes it
	// ("project://models/schema.yml"); see PatchFile.
	PatchPath    string
	Tags         []string
	Materialized string
	DependsOn    []string
	// SourceName is the source a source table belongs to.
	SourceName string
	// Version is a versioned model's version, empty otherwise.
	Version string
	// TimeSpine is set on a model its properties declare a MetricFlow
	// time spine (`time_spine:`, dbt ≥ 1.9).
	TimeSpine bool
	// Exports are a saved query's exports (tables dbt writes for BI tools).
	Exports []string
	// Exposure fields.
	ExposureType string
	URL          string
	Label        string
	OwnerName    string
	OwnerEmail   string
}

// PatchFile returns the properties file path relative to the project root,
// without dbt's "project://" prefix.
func (n *Node) PatchFile() string {
	if i := strings.Index(n.PatchPath, "://"); i >= 0 {
		return n.PatchPath[i+3:]
	}
	return n.PatchPath
}

// Files returns the node's files: the SQL (or CSV) file and, when it has
// one, its YAML properties file.
func (n *Node) Files() []string {
	var files []string
	if n.OriginalFilePath != "" {
		files = append(files, n.OriginalFilePath)
	}
	if p := n.PatchFile(); p != "" && p != n.OriginalFilePath {
		files = append(files, p)
	}
	return files
}

// HasTag reports whether the node carries tag (case-insensitive).
func (n *Node) HasTag(tag string) bool {
	for _, t := range n.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// IsLocal reports whether the node belongs to the manifest's own project
// rather than an installed package.
func (m *Manifest) IsLocal(n *Node) bool {
	return m.Metadata.ProjectName == "" || n.Package == m.Metadata.ProjectName
}

// IDs returns the unique_ids of the nodes of the given resource types (all
// nodes when none is given), sorted.
func (m *Manifest) IDs(types ...string) []string {
	ids := make([]string, 0, len(m.Nodes))
	for id, n := range m.Nodes {
		if len(types) == 0 || contains(types, n.ResourceType) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kept reports whether a resource type is one the reader keeps.
func kept(resourceType string) bool {
	switch resourceType {
	case Model, Seed, Snapshot, Source, Exposure, SemanticModel, Metric, SavedQuery:
		return true
	}
	return false
}

// typeOf returns the resource type a unique_id starts with.
func typeOf(uniqueID string) string {
	if i := strings.IndexByte(uniqueID, '.'); i > 0 {
		return uniqueID[:i]
	}
	return uniqueID
}

// ReadManifestFile reads a manifest from a file.
func ReadManifestFile(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading dbt manifest: %w", err)
	}
	defer f.Close()
	m, err := ReadManifest(f)
	if err != nil {
		return nil, fmt.Errorf("reading dbt manifest %q: %w", path, err)
	}
	return m, nil
}

// ReadManifest decodes a manifest from r. It walks the top-level object with
// the tokenizer and decodes one node at a time into a struct holding only the
// fields above, so memory stays near the size of the result.
func ReadManifest(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(r)
	m := &Manifest{
		Nodes:     make(map[string]*Node),
		ParentMap: make(map[string][]string),
		ChildMap:  make(map[string][]string),
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	sawMetadata := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return nil, err
		}
		switch key {
		case "metadata":
			if err := dec.Decode(&m.Metadata); err != nil {
				return nil, fmt.Errorf("metadata: %w", err)
			}
			// Refuse an unknown version before reading the rest.
			v, err := manifestVersion(m.Metadata.SchemaVersion)
			if err != nil {
				return nil, err
			}
			m.Version, sawMetadata = v, true
		case "nodes", "sources", "exposures":
			if err := eachMember(dec, key, func(id string) error {
				var raw rawNode
				if err := dec.Decode(&raw); err != nil {
					return err
				}
				if !kept(raw.ResourceType) {
					return nil
				}
				m.Nodes[id] = raw.node(id)
				return nil
			}); err != nil {
				return nil, err
			}
		case "semantic_models", "metrics", "saved_queries":
			// Consumers in their own right: their ids (edges come from
			// parent_map), files and a saved query's exports are kept.
			if err := eachMember(dec, key, func(id string) error {
				var raw struct {
					Name             string `json:"name"`
					Package          string `json:"package_name"`
					ResourceType     string `json:"resource_type"`
					OriginalFilePath string `json:"original_file_path"`
					Exports          []struct {
						Name string `json:"name"`
					} `json:"exports"`
				}
				if err := dec.Decode(&raw); err != nil {
					return err
				}
				if raw.ResourceType == "" {
					raw.ResourceType = typeOf(id)
				}
				if kept(raw.ResourceType) {
					n := &Node{UniqueID: id, ResourceType: raw.ResourceType, Name: raw.Name, Package: raw.Package, OriginalFilePath: raw.OriginalFilePath}
					for _, e := range raw.Exports {
						n.Exports = append(n.Exports, e.Name)
					}
					m.Nodes[id] = n
				}
				return nil
			}); err != nil {
				return nil, err
			}
		case "parent_map", "child_map":
			dst := m.ParentMap
			if key == "child_map" {
				dst = m.ChildMap
			}
			if err := eachMember(dec, key, func(id string) error {
				var list []string
				if err := dec.Decode(&list); err != nil {
					return err
				}
				if kept(typeOf(id)) {
					dst[id] = list
				}
				return nil
			}); err != nil {
				return nil, err
			}
		default:
			if err := skipValue(dec); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the manifest object at offset %d", dec.InputOffset())
	}
	if !sawMetadata {
		return nil, fmt.Errorf("no metadata.dbt_schema_version: %w", ErrUnsupportedVersion)
	}
	m.restrictMaps()
	return m, nil
}

// restrictMaps drops map entries whose ends are not nodes the reader kept, so
// consumers can walk the maps without checking every id.
func (m *Manifest) restrictMaps() {
	for _, mp := range []map[string][]string{m.ParentMap, m.ChildMap} {
		for id, list := range mp {
			if _, ok := m.Nodes[id]; !ok {
				delete(mp, id)
				continue
			}
			out := list[:0]
			for _, other := range list {
				if _, ok := m.Nodes[other]; ok {
					out = append(out, other)
				}
			}
			mp[id] = out
		}
	}
}

// manifestVersion parses ".../dbt/manifest/v12.json" into 12 and refuses
// versions the reader does not know.
func manifestVersion(url string) (int, error) {
	v, kind, ok := schemaVersion(url)
	if !ok || kind != "manifest" {
		return 0, fmt.Errorf("metadata.dbt_schema_version %q is not a manifest schema: %w", url, ErrUnsupportedVersion)
	}
	if !containsInt(SupportedManifestVersions, v) {
		return 0, fmt.Errorf("manifest schema v%d (%s) is not supported; supported: v10, v11, v12 (dbt 1.6 to 1.12): %w",
			v, url, ErrUnsupportedVersion)
	}
	return v, nil
}

// schemaVersion splits "https://schemas.getdbt.com/dbt/<kind>/v<N>.json".
func schemaVersion(url string) (version int, kind string, ok bool) {
	rest, found := strings.CutSuffix(url, ".json")
	if !found {
		return 0, "", false
	}
	slash := strings.LastIndexByte(rest, '/')
	if slash < 0 || !strings.HasPrefix(rest[slash+1:], "v") {
		return 0, "", false
	}
	v, err := strconv.Atoi(rest[slash+2:])
	if err != nil {
		return 0, "", false
	}
	kind = rest[:slash]
	kind = kind[strings.LastIndexByte(kind, '/')+1:]
	return v, kind, true
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// rawNode is the subset of a manifest node, source or exposure that is
// decoded; every other field is skipped by the decoder.
type rawNode struct {
	ResourceType     string          `json:"resource_type"`
	Name             string          `json:"name"`
	PackageName      string          `json:"package_name"`
	Database         string          `json:"database"`
	Schema           string          `json:"schema"`
	Alias            string          `json:"alias"`
	Identifier       string          `json:"identifier"`
	RelationName     string          `json:"relation_name"`
	OriginalFilePath string          `json:"original_file_path"`
	PatchPath        string          `json:"patch_path"`
	SourceName       string          `json:"source_name"`
	Tags             tagList         `json:"tags"`
	Version          flexText        `json:"version"`
	TimeSpine        json.RawMessage `json:"time_spine"`
	Config           struct {
		Materialized string `json:"materialized"`
	} `json:"config"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
	Type  string `json:"type"`
	URL   string `json:"url"`
	Label string `json:"label"`
	Owner struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"owner"`
}

func (r *rawNode) node(id string) *Node {
	alias := r.Alias
	if r.ResourceType == Source && r.Identifier != "" {
		alias = r.Identifier
	}
	n := &Node{
		UniqueID:         id,
		ResourceType:     r.ResourceType,
		Name:             r.Name,
		Package:          r.PackageName,
		Database:         r.Database,
		Schema:           r.Schema,
		Alias:            alias,
		RelationName:     r.RelationName,
		OriginalFilePath: r.OriginalFilePath,
		PatchPath:        r.PatchPath,
		Tags:             []string(r.Tags),
		Materialized:     r.Config.Materialized,
		DependsOn:        r.DependsOn.Nodes,
		SourceName:       r.SourceName,
		Version:          string(r.Version),
		TimeSpine:        len(r.TimeSpine) > 0 && string(r.TimeSpine) != "null",
	}
	if r.ResourceType == Exposure {
		n.ExposureType, n.URL, n.Label = r.Type, r.URL, r.Label
		n.OwnerName, n.OwnerEmail = r.Owner.Name, r.Owner.Email
	}
	return n
}

// tagList accepts a list of tags or a single tag string.
type tagList []string

func (t *tagList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = tagList{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*t = list
	return nil
}

// flexText accepts a string, a number or null (model versions are either).
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexText(n.String())
	}
	return nil
}
