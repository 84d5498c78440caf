package review

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"
)

// removeSources removes source tables ("source.table" keys of tables) from
// a dbt properties file's top-level `sources:` list. A source whose every
// table goes is removed whole, and `sources:` with its last source. Like
// removeModels it cuts lines out of the original bytes, so comments and
// layout stay byte for byte, and checks the result by decoding it; an odd
// layout falls back to re-encoding the node tree. Removed lists the
// "source.table" keys removed, in file order.
func removeSources(src []byte, tables map[string]bool) (removeModelsResult, error) {
	want, removed, err := expectedWithoutSources(src, tables)
	if err != nil {
		return removeModelsResult{}, err
	}
	if len(removed) == 0 {
		return removeModelsResult{Content: src}, nil
	}
	empty := leftEmpty(want)
	out, ok := src, true
	// One group of entries per pass (the sources that go whole, or one
	// source's tables): each pass parses again, so line numbers are fresh.
	for ok {
		var cut bool
		out, cut, ok = cutSourceGroup(out, tables)
		if !cut {
			break
		}
	}
	if ok && sameData(out, want) {
		return removeModelsResult{Content: out, Removed: removed, Empty: empty}, nil
	}
	out, err = reencodeWithoutSources(src, tables)
	if err != nil {
		return removeModelsResult{}, err
	}
	if !sameData(out, want) {
		return removeModelsResult{}, errors.New("removing the source tables changed other data; file left alone")
	}
	return removeModelsResult{Content: out, Removed: removed, Empty: empty}, nil
}

// sourcesList finds the top-level `sources:` key and its list.
func sourcesList(doc *yaml.Node) (key, seq *yaml.Node, err error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errNotProperties
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "sources" && root.Content[i+1].Kind == yaml.SequenceNode {
			return root.Content[i], root.Content[i+1], nil
		}
	}
	return nil, nil, nil
}

// tablesOf returns a source entry's `tables:` key and list, and the indexes
// of the tables to drop.
func tablesOf(source *yaml.Node, tables map[string]bool) (key, seq *yaml.Node, drop []int) {
	name, ok := entryName(source)
	if !ok {
		return nil, nil, nil
	}
	for i := 0; i+1 < len(source.Content); i += 2 {
		if source.Content[i].Value != "tables" || source.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		key, seq = source.Content[i], source.Content[i+1]
		for j, t := range seq.Content {
			if tn, ok := entryName(t); ok && tables[name+"."+tn] {
				drop = append(drop, j)
			}
		}
		return key, seq, drop
	}
	return nil, nil, nil
}

// cutSourceGroup cuts one group of entries: every source left without a
// table, or else the dropped tables of the first source keeping some. cut
// is false when nothing is left to drop; ok is false for a layout the line
// cut does not handle.
func cutSourceGroup(src []byte, tables map[string]bool) (out []byte, cut, ok bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, false, false
	}
	key, seq, err := sourcesList(&doc)
	if err != nil || key == nil {
		return src, false, err == nil
	}
	var whole []int
	for i, s := range seq.Content {
		if _, tseq, drop := tablesOf(s, tables); len(drop) > 0 && len(drop) == len(tseq.Content) {
			whole = append(whole, i)
		}
	}
	if len(whole) > 0 {
		out, ok := cutLines(src, key, seq, whole)
		return out, ok, ok
	}
	for _, s := range seq.Content {
		if tkey, tseq, drop := tablesOf(s, tables); len(drop) > 0 {
			out, ok := cutLines(src, tkey, tseq, drop)
			return out, ok, ok
		}
	}
	return src, false, true
}

// reencodeWithoutSources drops the tables from the node tree and encodes
// it: comments stay, formatting may be normalised.
func reencodeWithoutSources(src []byte, tables map[string]bool) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	key, seq, err := sourcesList(&doc)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return src, nil
	}
	var keptSources []*yaml.Node
	for _, s := range seq.Content {
		_, tseq, drop := tablesOf(s, tables)
		if len(drop) > 0 && len(drop) == len(tseq.Content) {
			continue
		}
		if len(drop) > 0 {
			gone := map[int]bool{}
			for _, i := range drop {
				gone[i] = true
			}
			var keptTables []*yaml.Node
			for i, t := range tseq.Content {
				if !gone[i] {
					keptTables = append(keptTables, t)
				}
			}
			tseq.Content = keptTables
		}
		keptSources = append(keptSources, s)
	}
	seq.Content = keptSources
	root := doc.Content[0]
	if len(keptSources) == 0 {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i] == key {
				root.Content = append(root.Content[:i:i], root.Content[i+2:]...)
				break
			}
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(detectIndent(src))
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// expectedWithoutSources decodes the file and removes the tables from the
// plain data: what a correct edit must decode to.
func expectedWithoutSources(src []byte, tables map[string]bool) (map[string]any, []string, error) {
	var data map[string]any
	if err := yaml.Unmarshal(src, &data); err != nil {
		return nil, nil, fmt.Errorf("decoding YAML: %w", err)
	}
	sources, _ := data["sources"].([]any)
	var removed []string
	var keptSources []any
	for _, s := range sources {
		e, ok := s.(map[string]any)
		if !ok || e["name"] == nil {
			keptSources = append(keptSources, s)
			continue
		}
		name := fmt.Sprint(e["name"])
		ts, isList := e["tables"].([]any)
		var keptTables []any
		for _, t := range ts {
			if te, ok := t.(map[string]any); ok && te["name"] != nil && tables[name+"."+fmt.Sprint(te["name"])] {
				removed = append(removed, name+"."+fmt.Sprint(te["name"]))
				continue
			}
			keptTables = append(keptTables, t)
		}
		switch {
		case isList && len(ts) > 0 && len(keptTables) == 0:
			continue // the source goes whole
		case isList && len(keptTables) < len(ts):
			e["tables"] = keptTables
		}
		keptSources = append(keptSources, s)
	}
	if len(removed) == 0 {
		return data, nil, nil
	}
	if len(keptSources) == 0 {
		delete(data, "sources")
	} else {
		data["sources"] = keptSources
	}
	return data, removed, nil
}

// sourceEdits removes the source tables' entries from their sources YAML,
// on top of the edits ed already holds for the same files (a properties
// file declaring models and sources).
func sourceEdits(projectDir string, baseTree *object.Tree, ed edits, sources []Candidate) ([]Subject, []string, error) {
	var notes []string
	byYAML := map[string][]Candidate{}
	for _, c := range sources {
		if c.PatchPath == "" {
			notes = append(notes, fmt.Sprintf("source %s.%s: no sources YAML known", c.Source, c.Name))
			continue
		}
		p := repoPath(projectDir, stripPackage(c.PatchPath))
		byYAML[p] = append(byYAML[p], c)
	}
	paths := make([]string, 0, len(byYAML))
	for p := range byYAML {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	touched := map[string]string{} // unique id -> the YAML edited for it
	for _, p := range paths {
		src, edited := ed[p]
		if edited && src == nil {
			notes = append(notes, fmt.Sprintf("%s is deleted by the branch; its sources are gone with it", p))
			continue
		}
		if !edited {
			var ok bool
			var err error
			if src, ok, err = fileContent(baseTree, p); err != nil {
				return nil, nil, err
			} else if !ok {
				notes = append(notes, fmt.Sprintf("sources file %s is not on the base branch", p))
				continue
			}
		}
		keys := map[string]bool{}
		for _, c := range byYAML[p] {
			keys[c.Source+"."+c.Name] = true
		}
		res, err := removeSources(src, keys)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s left unchanged: %v", p, err))
			continue
		}
		if len(res.Removed) == 0 {
			continue
		}
		if res.Empty {
			ed[p] = nil
		} else {
			ed[p] = append([]byte{}, res.Content...)
		}
		removed := map[string]bool{}
		for _, k := range res.Removed {
			removed[k] = true
		}
		for _, c := range byYAML[p] {
			if removed[c.Source+"."+c.Name] {
				touched[c.UniqueID] = p
			}
		}
	}
	var subjects []Subject
	for _, c := range sources {
		p, ok := touched[c.UniqueID]
		if !ok {
			notes = append(notes, fmt.Sprintf("source %s.%s: no entry to remove on the base branch", c.Source, c.Name))
			continue
		}
		subjects = append(subjects, Subject{ID: c.UniqueID, Name: c.Source + "." + c.Name, Reason: c.Reason, Files: []string{p}, Evidence: c.Evidence})
	}
	return subjects, notes, nil
}
