package review

import (
	"bytes"
	"path"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"
)

// Versioned models (dbt ≥ 1.5) are named by their properties, not their
// files: a `models:` entry with `versions:` makes each version's file
// (`defined_in`, else NAME_vV; the latest version may also live in NAME
// itself) a version of NAME, reached by ref('NAME') (the latest) and
// ref('NAME', v=V). Node keys are the names ref() takes, and NAME@V for a
// version.

func versionKey(name, v string) string { return name + "@" + v }

// versionedModel is one `models:` entry with versions.
type versionedModel struct {
	latest   string            // latest_version, "" for the highest
	versions []string          // v values, in file order
	stems    map[string]string // v -> the file name (no extension) defining it
	disabled map[string]bool   // v -> disabled in the version's own config
	off      bool              // the whole model disabled in its config
}

// latestV is the version ref('NAME') resolves to.
func (vm *versionedModel) latestV() string {
	if vm.latest != "" {
		return vm.latest
	}
	best := ""
	for _, v := range vm.versions {
		if best == "" || versionLess(best, v) {
			best = v
		}
	}
	return best
}

// versionLess orders versions as dbt does: numerically when both are
// numbers, else as text.
func versionLess(a, b string) bool {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return fa < fb
	}
	return a < b
}

// addVersioned adds the versioned models a properties file declares.
func addVersioned(src []byte, into map[string]*versionedModel) {
	if !bytes.Contains(src, []byte("versions")) {
		return
	}
	type config struct {
		Enabled *bool `yaml:"enabled"`
	}
	var f struct {
		Models []struct {
			Name     string    `yaml:"name"`
			Latest   yaml.Node `yaml:"latest_version"`
			Config   config    `yaml:"config"`
			Versions []struct {
				V         yaml.Node `yaml:"v"`
				DefinedIn string    `yaml:"defined_in"`
				Config    config    `yaml:"config"`
			} `yaml:"versions"`
		} `yaml:"models"`
	}
	if yaml.Unmarshal(src, &f) != nil {
		return
	}
	for _, m := range f.Models {
		if m.Name == "" || len(m.Versions) == 0 {
			continue
		}
		vm := &versionedModel{latest: m.Latest.Value, stems: map[string]string{}, disabled: map[string]bool{},
			off: m.Config.Enabled != nil && !*m.Config.Enabled}
		for _, v := range m.Versions {
			if v.V.Value == "" {
				continue
			}
			stem := v.DefinedIn
			if stem == "" {
				stem = m.Name + "_v" + v.V.Value
			}
			vm.versions = append(vm.versions, v.V.Value)
			vm.stems[v.V.Value] = stem
			vm.disabled[v.V.Value] = v.Config.Enabled != nil && !*v.Config.Enabled
		}
		into[m.Name] = vm
	}
}

// treeNodes is what a tree defines for ref().
type treeNodes struct {
	byPath    map[string]string // a model, seed or snapshot file -> its node key
	keys      map[string]bool   // every key defined: names, and NAME@V
	versioned map[string]*versionedModel
}

// nodeKey is the node a file defines: its name, or NAME@V for a version.
func (t *treeNodes) nodeKey(p string) (string, bool) {
	k, ok := t.byPath[p]
	return k, ok
}

// indexNodes names the nodes of a tree's files, versioned models by their
// properties. texts reads a file (cached across the two trees).
func indexNodes(files map[string]*object.File, texts *blobCache) (*treeNodes, error) {
	t := &treeNodes{byPath: map[string]string{}, keys: map[string]bool{}, versioned: map[string]*versionedModel{}}
	for p, f := range files {
		if !isYAML(p) {
			continue
		}
		src, err := texts.read(f)
		if err != nil {
			return nil, err
		}
		addVersioned(src, t.versioned)
	}
	stems := map[string]bool{} // model file names
	for p := range files {
		if n, ok := nodeName(p); ok && path.Ext(p) != ".csv" {
			stems[n] = true
		}
	}
	owner := map[string]string{} // model file name -> NAME@V
	for name, vm := range t.versioned {
		for _, v := range vm.versions {
			owner[vm.stems[v]] = versionKey(name, v)
		}
	}
	for name, vm := range t.versioned {
		// "If this is the latest version, it's allowed to define itself in
		// a model file name that doesn't have a suffix" (dbt's parser).
		if l := vm.latestV(); !stems[vm.stems[l]] && stems[name] && owner[name] == "" {
			owner[name] = versionKey(name, l)
		}
	}
	for p := range files {
		n, ok := nodeName(p)
		if !ok {
			continue
		}
		key := n
		if k := owner[n]; k != "" && path.Ext(p) != ".csv" {
			key = k
		}
		t.byPath[p] = key
		t.keys[key] = true
	}
	for name, vm := range t.versioned {
		if t.keys[versionKey(name, vm.latestV())] {
			t.keys[name] = true
		}
	}
	return t, nil
}

// disabledIn adds the keys a versioned model's config disables: every
// version of a disabled model, each version disabled in its own config,
// and the name when its latest version is off (ref('NAME') resolves to a
// disabled node). disabled already holds the names and keys disabled
// otherwise (models entries, config() in SQL).
func (t *treeNodes) disabledIn(disabled map[string]bool) {
	for name, vm := range t.versioned {
		for _, v := range vm.versions {
			if vm.off || vm.disabled[v] || disabled[name] {
				disabled[versionKey(name, v)] = true
			}
		}
		if disabled[versionKey(name, vm.latestV())] {
			disabled[name] = true
		}
	}
}

// blobCache reads each blob once: the two trees share most files.
type blobCache map[plumbing.Hash][]byte

func (c *blobCache) read(f *object.File) ([]byte, error) {
	if b, ok := (*c)[f.Hash]; ok {
		return b, nil
	}
	b, err := blobText(f)
	if err != nil {
		return nil, err
	}
	(*c)[f.Hash] = b
	return b, nil
}
