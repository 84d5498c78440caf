package review

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"
)

// The first phase of a deprecation is reversible: the models stay in the
// repository, disabled, until a quiet period shows nobody misses them.

// disableModels sets `deprecation_date: DATE` and `config: enabled: false`
// on the entries of the top-level `models:` list whose name is in names.
// Like removeModels it edits lines, so comments and layout stay byte for
// byte, and checks the result by decoding it; an odd layout falls back to
// re-encoding the node tree.
func disableModels(src []byte, names map[string]bool, date string) ([]byte, []string, error) {
	return disableEntries(src, "models", "name", names, date)
}

// disableUnitTests sets `config: enabled: false` on the entries of the
// top-level `unit_tests:` list that test a model in models (`model: NAME`)
// and are not disabled already, editing lines the same way; done holds the
// models' names, once per unit test disabled.
func disableUnitTests(src []byte, models map[string]bool) ([]byte, []string, error) {
	return disableEntries(src, "unit_tests", "model", models, "")
}

// disableEntries disables the entries of the top-level list key whose
// field is in values, with a deprecation_date unless date is empty.
// Entries disabled already are left as they are.
func disableEntries(src []byte, listKey, field string, values map[string]bool, date string) ([]byte, []string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errNotProperties
	}
	seq := mappingValue(doc.Content[0], listKey)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return src, nil, nil
	}
	var entries []*yaml.Node
	var done []string
	for _, item := range seq.Content {
		if name, ok := entryField(item, field); ok && values[name] && (date != "" || !disabledEntry(item)) {
			entries = append(entries, item)
			done = append(done, name)
		}
	}
	if len(entries) == 0 {
		return src, nil, nil
	}
	want, err := expectedDisabledIn(src, listKey, field, values, date)
	if err != nil {
		return nil, nil, err
	}
	if out, ok := insertDisableLines(src, entries, date); ok && reflect.DeepEqual(decodeMap(out), want) {
		return out, done, nil
	}
	for _, e := range entries {
		setDisabledNode(e, date)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(detectIndent(src))
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, fmt.Errorf("encoding YAML: %w", err)
	}
	enc.Close()
	if !reflect.DeepEqual(decodeMap(buf.Bytes()), want) {
		return nil, nil, errors.New("disabling the entries changed other data; file left alone")
	}
	return buf.Bytes(), done, nil
}

// disabledEntry reports whether a list entry's own config disables it.
func disabledEntry(item *yaml.Node) bool {
	cfg := mappingValue(item, "config")
	if cfg == nil || cfg.Kind != yaml.MappingNode {
		return false
	}
	en := mappingValue(cfg, "enabled")
	return en != nil && (en.Value == "false" || en.Value == "False")
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// insertDisableLines adds the keys as new lines at the end of each entry (and
// `enabled: false` under an existing block `config:`); no deprecation_date
// when date is empty. ok is false for a layout it does not handle: an
// existing deprecation_date or enabled key, a flow-style entry or config.
func insertDisableLines(src []byte, entries []*yaml.Node, date string) ([]byte, bool) {
	lines := splitLines(src)
	if len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
		lines[len(lines)-1] += "\n"
	}
	type insert struct {
		at   int // line index the text goes before
		text string
	}
	var ins []insert
	for _, e := range entries {
		if e.Style&yaml.FlowStyle != 0 || len(e.Content) == 0 || (date != "" && mappingValue(e, "deprecation_date") != nil) {
			return nil, false
		}
		keyCol := e.Content[0].Column - 1
		from := e.Line - 1
		if from < 0 || from >= len(lines) {
			return nil, false
		}
		dash, ok := dashColumn(lines[from], keyCol)
		if !ok {
			return nil, false
		}
		end := blockEnd(lines, from, dash)
		pad := strings.Repeat(" ", keyCol)
		text := ""
		if date != "" {
			text = pad + "deprecation_date: " + date + " # deprecated by Sluice; deleted after the quiet period\n"
		}
		if cfg := mappingValue(e, "config"); cfg != nil {
			if cfg.Kind != yaml.MappingNode || cfg.Style&yaml.FlowStyle != 0 || len(cfg.Content) == 0 || mappingValue(cfg, "enabled") != nil {
				return nil, false
			}
			ins = append(ins, insert{cfg.Content[0].Line - 1, strings.Repeat(" ", cfg.Content[0].Column-1) + "enabled: false\n"})
		} else {
			text += pad + "config:\n" + pad + "  enabled: false\n"
		}
		if text != "" {
			ins = append(ins, insert{end, text})
		}
	}
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].at > ins[j].at })
	for _, in := range ins {
		lines = append(lines[:in.at], append([]string{in.text}, lines[in.at:]...)...)
	}
	return []byte(strings.Join(lines, "")), true
}

// setDisabledNode sets the keys on the entry's node tree.
func setDisabledNode(e *yaml.Node, date string) {
	set := func(m *yaml.Node, key string, v *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				m.Content[i+1] = v
				return
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	if date != "" {
		set(e, "deprecation_date", &yaml.Node{Kind: yaml.ScalarNode, Value: date})
	}
	cfg := mappingValue(e, "config")
	if cfg == nil || cfg.Kind != yaml.MappingNode {
		cfg = &yaml.Node{Kind: yaml.MappingNode}
		set(e, "config", cfg)
	}
	cfg.Style = 0
	set(cfg, "enabled", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
}

// expectedDisabled is what a correct edit of models entries decodes to.
func expectedDisabled(src []byte, names map[string]bool, date string) (map[string]any, error) {
	return expectedDisabledIn(src, "models", "name", names, date)
}

// expectedDisabledIn is expectedDisabled for any top-level list.
func expectedDisabledIn(src []byte, listKey, field string, values map[string]bool, date string) (map[string]any, error) {
	var data map[string]any
	if err := yaml.Unmarshal(src, &data); err != nil {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	var d map[string]any
	yaml.Unmarshal([]byte("d: "+date), &d)
	list, _ := data[listKey].([]any)
	for _, m := range list {
		e, ok := m.(map[string]any)
		if !ok || e[field] == nil || !values[fmt.Sprint(e[field])] {
			continue
		}
		if date != "" {
			e["deprecation_date"] = d["d"]
		}
		cfg, _ := e["config"].(map[string]any)
		if cfg == nil {
			cfg = map[string]any{}
		}
		cfg["enabled"] = false
		e["config"] = cfg
	}
	return data, nil
}

func decodeMap(b []byte) map[string]any {
	var m map[string]any
	if yaml.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// disabledHeader turns a model off inside its own SQL file, for a model
// with no properties entry to carry the config (and in a deprecated/
// folder, where the move alone would not stop dbt from building it).
func disabledHeader(date string) string {
	return "{{ config(enabled=false) }} {# deprecated by Sluice on " + date + "; deleted after the quiet period #}\n"
}

// inlineDisabled matches a config() call that disables the model it is in.
var inlineDisabled = regexp.MustCompile(`config\([^)]*\benabled\s*=\s*(?:false|False)\b`)

// disabledInYAML lists the models entries of a properties file whose
// config disables them.
func disabledInYAML(src []byte, into map[string]bool) {
	if !bytes.Contains(src, []byte("enabled")) {
		return
	}
	var f struct {
		Models []struct {
			Name   string `yaml:"name"`
			Config struct {
				Enabled *bool `yaml:"enabled"`
			} `yaml:"config"`
		} `yaml:"models"`
	}
	if yaml.Unmarshal(src, &f) != nil {
		return
	}
	for _, m := range f.Models {
		if m.Config.Enabled != nil && !*m.Config.Enabled {
			into[m.Name] = true
		}
	}
}

// deprecatedPath is where the folder mode moves a model's file: below a
// deprecated/ folder inside its top-level folder (models/marts/x.sql ->
// models/deprecated/marts/x.sql).
func deprecatedPath(p string) string {
	top, rest, ok := strings.Cut(p, "/")
	if !ok {
		return "deprecated/" + p
	}
	if strings.HasPrefix(rest, "deprecated/") {
		return p
	}
	return top + "/deprecated/" + rest
}

// disableEdits is the first phase of a deprecation: each candidate is
// disabled in its properties entry (with a deprecation date), or, without
// one, in its SQL; in folder mode its files move to a deprecated/ folder,
// disabled there. Nothing is deleted.
func disableEdits(projectDir string, baseTree *object.Tree, cands []Candidate, mode, date string) (edits, []Subject, []string, error) {
	ed := edits{}
	var notes []string
	touched := map[string][]string{}
	inYAML := map[string]bool{} // unique id -> disabled by its properties entry

	if mode == DeprecateDisable {
		for _, pf := range byPropertiesFile(projectDir, cands) {
			p := pf.path
			src, ok, err := fileContent(baseTree, p)
			if err != nil {
				return nil, nil, nil, err
			}
			if !ok {
				notes = append(notes, fmt.Sprintf("properties file %s is not on the base branch", p))
				continue
			}
			content, done, err := disableModels(src, pf.names, date)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s left unchanged: %v", p, err))
				continue
			}
			doneSet := map[string]bool{}
			for _, n := range done {
				doneSet[n] = true
			}
			for _, c := range pf.cands {
				if doneSet[c.Name] {
					inYAML[c.UniqueID] = true
					touched[c.UniqueID] = append(touched[c.UniqueID], p)
				}
			}
			if len(done) > 0 {
				ed[p] = content
			}
		}
	}
	for _, c := range cands {
		if inYAML[c.UniqueID] {
			continue
		}
		for _, f := range c.Files {
			p := repoPath(projectDir, f)
			src, ok, err := fileContent(baseTree, p)
			if err != nil {
				return nil, nil, nil, err
			}
			if !ok {
				notes = append(notes, fmt.Sprintf("%s: %s is not on the base branch", c.Name, p))
				continue
			}
			content := src
			if strings.HasSuffix(p, ".sql") && !inlineDisabled.Match(src) {
				content = append([]byte(disabledHeader(date)), src...)
			} else if !strings.HasSuffix(p, ".sql") && mode != DeprecateFolder {
				continue // a .py model needs its properties entry; noted below when nothing else changed
			}
			dst := p
			if mode == DeprecateFolder {
				dst = repoPath(projectDir, deprecatedPath(f))
				if dst != p {
					ed[p] = nil
				}
			}
			ed[dst] = content
			touched[c.UniqueID] = append(touched[c.UniqueID], dst)
		}
	}
	// Their unit tests are disabled with them: dbt parse fails on a unit
	// test of a disabled model.
	tests, testNotes, err := unitTestEdits(projectDir, baseTree, ed, takenCandidates(cands, touched), false)
	if err != nil {
		return nil, nil, nil, err
	}
	notes = append(notes, testNotes...)
	addFiles(touched, tests)
	var subjects []Subject
	for _, c := range cands {
		files := touched[c.UniqueID]
		if len(files) == 0 {
			notes = append(notes, fmt.Sprintf("%s: nothing to disable on the base branch", c.Name))
			continue
		}
		subjects = append(subjects, Subject{ID: c.UniqueID, Name: c.Name, Reason: c.Reason, Importance: c.Importance, Files: files, Evidence: c.Evidence})
	}
	return ed, subjects, notes, nil
}
