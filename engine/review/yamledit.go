package review

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// removeModelsResult is what removing model entries from a dbt properties
// file did.
type removeModelsResult struct {
	Content []byte
	Removed []string // names whose entry was removed, in file order
	// Empty is true when nothing but `version` is left: delete the file.
	Empty bool
}

// errNotProperties says the file is not a YAML mapping we can edit.
var errNotProperties = errors.New("not a dbt properties file (a YAML mapping)")

// removeModels removes the entries of the top-level `models:` list whose
// name is in names. The YAML node tree finds the entries; the edit itself
// cuts their lines out of the original bytes, so every other line — comments,
// quoting, indentation — stays byte for byte and the diff shows only the
// removed entries. The result is checked by decoding it: when the line cut
// does not give exactly the original data minus the entries (an odd layout),
// the edit falls back to re-encoding the node tree, which keeps comments but
// may normalise formatting.
func removeModels(src []byte, names map[string]bool) (removeModelsResult, error) {
	return removeEntries(src, "models", "name", names)
}

// removeUnitTests removes the entries of the top-level `unit_tests:` list
// that test a model in models (`model: NAME`), the same way; Removed holds
// the models' names, once per unit test.
func removeUnitTests(src []byte, models map[string]bool) (removeModelsResult, error) {
	return removeEntries(src, "unit_tests", "model", models)
}

// removeEntries removes the entries of the top-level list key whose field
// is in values.
func removeEntries(src []byte, listKey, field string, values map[string]bool) (removeModelsResult, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return removeModelsResult{}, fmt.Errorf("parsing YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return removeModelsResult{}, errNotProperties
	}
	root := doc.Content[0]
	keyIdx := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == listKey {
			keyIdx = i
			break
		}
	}
	if keyIdx < 0 || root.Content[keyIdx+1].Kind != yaml.SequenceNode {
		return removeModelsResult{Content: src}, nil
	}
	seq := root.Content[keyIdx+1]
	var drop []int
	var removed []string
	for i, item := range seq.Content {
		if name, ok := entryField(item, field); ok && values[name] {
			drop = append(drop, i)
			removed = append(removed, name)
		}
	}
	if len(drop) == 0 {
		return removeModelsResult{Content: src}, nil
	}

	want, err := expectedWithout(src, listKey, field, values)
	if err != nil {
		return removeModelsResult{}, err
	}
	empty := leftEmpty(want)

	out, ok := cutLines(src, root.Content[keyIdx], seq, drop)
	if ok && sameData(out, want) {
		return removeModelsResult{Content: out, Removed: removed, Empty: empty}, nil
	}
	out, err = reencodeWithout(&doc, root, keyIdx, drop, detectIndent(src))
	if err != nil {
		return removeModelsResult{}, err
	}
	if !sameData(out, want) {
		return removeModelsResult{}, errors.New("removing the entries changed other data; file left alone")
	}
	return removeModelsResult{Content: out, Removed: removed, Empty: empty}, nil
}

// entryName is the `name:` of a list entry.
func entryName(item *yaml.Node) (string, bool) { return entryField(item, "name") }

// entryField is a scalar field of a list entry.
func entryField(item *yaml.Node, field string) (string, bool) {
	if item.Kind != yaml.MappingNode {
		return "", false
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == field && item.Content[i+1].Kind == yaml.ScalarNode {
			return item.Content[i+1].Value, true
		}
	}
	return "", false
}

// cutLines removes the line ranges of the dropped entries (and the whole
// list's block, `models:` or another, when no entry is left). ok is false when the layout is not
// the plain block style this understands.
func cutLines(src []byte, key, seq *yaml.Node, drop []int) ([]byte, bool) {
	if seq.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	lines := splitLines(src)
	type span struct{ from, to int } // line indexes, [from, to)
	var cuts []span
	if len(drop) == len(seq.Content) {
		// No entry left: an empty `models:` would be null, which dbt
		// refuses; remove the key with its block.
		from := key.Line - 1
		if from < 0 || from >= len(lines) || indentOf(lines[from]) != key.Column-1 {
			return nil, false
		}
		to := blockEnd(lines, from, key.Column-1)
		cuts = append(cuts, span{from, to})
	} else {
		for _, i := range drop {
			item := seq.Content[i]
			from := item.Line - 1
			if from < 0 || from >= len(lines) {
				return nil, false
			}
			dash, ok := dashColumn(lines[from], item.Column-1)
			if !ok {
				return nil, false
			}
			to := blockEnd(lines, from, dash)
			// Comment lines right above the entry, at its indentation, are
			// about it and go with it — unless they sit right under
			// `models:`, where they head the whole list.
			j := from - 1
			for j >= 0 && isComment(lines[j]) && indentOf(lines[j]) == dash {
				j--
			}
			if j != key.Line-1 {
				from = j + 1
			}
			cuts = append(cuts, span{from, to})
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i].from < cuts[j].from })
	var out bytes.Buffer
	next := 0
	for _, c := range cuts {
		if c.from < next {
			return nil, false
		}
		// Keep one blank line between neighbours: when the removed block
		// sat between blank lines (or right under `models:`), its trailing
		// blanks go with it.
		to := c.to
		if c.from > 0 && (isBlank(lines[c.from-1]) || c.from-1 == key.Line-1) {
			for to < len(lines) && isBlank(lines[to]) {
				to++
			}
		}
		for _, l := range lines[next:c.from] {
			out.WriteString(l)
		}
		next = to
	}
	for _, l := range lines[next:] {
		out.WriteString(l)
	}
	return out.Bytes(), true
}

// blockEnd returns the index after the last non-blank line of the block that
// starts at line from: following lines belong to it while they are blank or
// indented deeper than col.
func blockEnd(lines []string, from, col int) int {
	last := from
	for j := from + 1; j < len(lines); j++ {
		if isBlank(lines[j]) {
			continue
		}
		if indentOf(lines[j]) <= col {
			break
		}
		last = j
	}
	return last + 1
}

// dashColumn finds the `-` of a block sequence entry whose first key starts
// at keyCol on line.
func dashColumn(line string, keyCol int) (int, bool) {
	if keyCol > len(line) {
		return 0, false
	}
	i := keyCol - 1
	for i >= 0 && line[i] == ' ' {
		i--
	}
	if i < 0 || line[i] != '-' || strings.TrimLeft(line[:i], " ") != "" {
		return 0, false
	}
	return i, true
}

func splitLines(src []byte) []string {
	s := string(src)
	var lines []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

func isComment(line string) bool { return strings.HasPrefix(strings.TrimSpace(line), "#") }

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// reencodeWithout drops the entries from the node tree and encodes it.
func reencodeWithout(doc, root *yaml.Node, keyIdx int, drop []int, indent int) ([]byte, error) {
	seq := root.Content[keyIdx+1]
	dropSet := make(map[int]bool, len(drop))
	for _, i := range drop {
		dropSet[i] = true
	}
	var kept []*yaml.Node
	for i, n := range seq.Content {
		if !dropSet[i] {
			kept = append(kept, n)
		}
	}
	seq.Content = kept
	if len(kept) == 0 {
		root.Content = append(root.Content[:keyIdx:keyIdx], root.Content[keyIdx+2:]...)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(indent)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// detectIndent guesses the file's indentation step from its first indented
// line, so a re-encoded file looks like its original.
func detectIndent(src []byte) int {
	for _, l := range splitLines(src) {
		if isBlank(l) || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if n := indentOf(l); n > 0 {
			if n > 8 {
				return 2
			}
			return n
		}
	}
	return 2
}

// expectedAfterRemoval decodes the file and removes the model entries from
// the plain data: what a correct edit must decode to.
func expectedAfterRemoval(src []byte, names map[string]bool) (map[string]any, error) {
	return expectedWithout(src, "models", "name", names)
}

// expectedWithout is expectedAfterRemoval for any top-level list.
func expectedWithout(src []byte, listKey, field string, values map[string]bool) (map[string]any, error) {
	var data map[string]any
	if err := yaml.Unmarshal(src, &data); err != nil {
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	list, _ := data[listKey].([]any)
	var kept []any
	for _, m := range list {
		if e, ok := m.(map[string]any); ok && e[field] != nil && values[fmt.Sprint(e[field])] {
			continue
		}
		kept = append(kept, m)
	}
	if len(kept) == 0 {
		delete(data, listKey)
	} else {
		data[listKey] = kept
	}
	return data, nil
}

func sameData(out []byte, want map[string]any) bool {
	var got map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		return false
	}
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	return reflect.DeepEqual(got, want)
}

// leftEmpty reports whether a properties file declares nothing any more:
// every key but `version` is gone or empty.
func leftEmpty(data map[string]any) bool {
	for k, v := range data {
		if k == "version" || v == nil {
			continue
		}
		switch v := v.(type) {
		case []any:
			if len(v) > 0 {
				return false
			}
		case map[string]any:
			if len(v) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
