package review

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"
)

// Dangling is a reference a branch leaves without a target, or a file it
// leaves unparseable: what would make `dbt parse` fail.
type Dangling struct {
	File string // repository path
	Line int
	What string // "ref('products') no longer resolves", ...
}

func (d Dangling) String() string { return fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.What) }

// The dbt calls whose targets a deletion can remove. A two-argument ref
// names a package first; a version (v=2, version='2') names one version
// of a versioned model.
var (
	refCall    = regexp.MustCompile(`\bref\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,\s*(?:v|version)\s*=\s*['"]?([A-Za-z0-9_.]+)['"]?)?`)
	sourceCall = regexp.MustCompile(`\bsource\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]`)
	snapshotOf = regexp.MustCompile(`\{%-?\s*snapshot\s+([A-Za-z0-9_]+)\s*-?%\}`)
)

// checkTree proves a branch safe for the dbt project: every ref() and
// source() in the SQL, Python and YAML it keeps (models, snapshots, seeds'
// configs, tests, semantic models, metrics, saved queries, exposures,
// macros) still resolves; every YAML file it changes still parses; no
// properties entry names a model it deleted, and no unit test one it
// deletes or disables.
//
// What resolves is judged against the base: a name defined on the base
// (a model, seed or snapshot file, a source table in YAML) and no longer on
// the branch is gone. Names the base does not define either (packages,
// other projects) are not the branch's doing and are left alone.
func checkTree(base, branch *object.Tree, projectDir string) ([]Dangling, error) {
	baseFiles, err := treeFiles(base, projectDir)
	if err != nil {
		return nil, err
	}
	branchFiles, err := treeFiles(branch, projectDir)
	if err != nil {
		return nil, err
	}
	var out []Dangling

	// Nodes as ref() names them: files, versioned models by their
	// properties. A node the base defines and the branch does not is gone.
	texts := blobCache{}
	baseNodes, err := indexNodes(baseFiles, &texts)
	if err != nil {
		return nil, err
	}
	branchNodes, err := indexNodes(branchFiles, &texts)
	if err != nil {
		return nil, err
	}
	refGone := map[string]string{} // node key -> what the branch does to it
	goneNodes := map[string]bool{} // names
	for k := range baseNodes.keys {
		if !branchNodes.keys[k] {
			refGone[k] = "deletes"
			if !strings.Contains(k, "@") {
				goneNodes[k] = true
			}
		}
	}
	// Models the branch disables are gone for every ref() to them, as dbt
	// sees it, but their files and properties entries stay. Only deleted
	// and changed files are read on the base.
	disabledBase, disabledBranch := map[string]bool{}, map[string]bool{}
	var changedYAML []string
	baseSources, branchSources := map[string]bool{}, map[string]bool{}
	for p, h := range baseFiles {
		bh, still := branchFiles[p]
		if still && bh.Hash == h.Hash {
			continue
		}
		if strings.HasSuffix(p, ".sql") {
			src, err := texts.read(h)
			if err != nil {
				return nil, err
			}
			if !still {
				for _, m := range snapshotOf.FindAllSubmatch(src, -1) {
					goneNodes[string(m[1])] = true // unless another file defines it: see below
					refGone[string(m[1])] = "deletes"
				}
			}
			if k, ok := baseNodes.nodeKey(p); ok && inlineDisabled.Match(src) {
				disabledBase[k] = true
			}
		}
		if isYAML(p) {
			src, err := texts.read(h)
			if err != nil {
				return nil, err
			}
			addSources(src, baseSources)
			disabledInYAML(src, disabledBase)
			if still {
				changedYAML = append(changedYAML, p)
			}
		}
	}
	sort.Strings(changedYAML)
	for _, p := range changedYAML {
		src, err := texts.read(branchFiles[p])
		if err != nil {
			return nil, err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(src, &doc); err != nil {
			out = append(out, Dangling{File: p, Line: yamlErrLine(err), What: "YAML no longer parses: " + err.Error()})
			continue
		}
		addSources(src, branchSources)
		disabledInYAML(src, disabledBranch)
	}
	// Added and changed SQL on the branch may disable their model (a
	// config() header, or a move to a deprecated/ folder).
	for p, f := range branchFiles {
		if !strings.HasSuffix(p, ".sql") {
			continue
		}
		if bh, ok := baseFiles[p]; ok && bh.Hash == f.Hash {
			continue
		}
		src, err := texts.read(f)
		if err != nil {
			return nil, err
		}
		if k, ok := branchNodes.nodeKey(p); ok && inlineDisabled.Match(src) {
			disabledBranch[k] = true
		}
	}
	baseNodes.disabledIn(disabledBase)
	branchNodes.disabledIn(disabledBranch)
	for k := range disabledBranch {
		if !disabledBase[k] && branchNodes.keys[k] {
			refGone[k] = "disables"
		}
	}
	goneSources := map[string]bool{}
	for s := range baseSources {
		if !branchSources[s] {
			goneSources[s] = true
		}
	}
	if len(refGone) == 0 && len(goneSources) == 0 {
		return out, nil
	}

	// Every kept file that can call ref() or source(), or describe a model.
	paths := make([]string, 0, len(branchFiles))
	for p := range branchFiles {
		if strings.HasSuffix(p, ".sql") || strings.HasSuffix(p, ".py") || isYAML(p) {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		src, err := texts.read(branchFiles[p])
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(p, ".sql") {
			// A snapshot block still defined elsewhere is not gone.
			for _, m := range snapshotOf.FindAllSubmatch(src, -1) {
				delete(goneNodes, string(m[1]))
				delete(refGone, string(m[1]))
			}
		}
		// A disabled model's own refs do not count: dbt does not build it.
		if k, ok := branchNodes.nodeKey(p); ok && (disabledBranch[k] || (bytes.Contains(src, []byte("enabled")) && inlineDisabled.Match(src))) {
			continue
		}
		out = append(out, danglingCalls(p, src, refGone, goneSources)...)
		if isYAML(p) {
			out = append(out, danglingEntries(p, src, goneNodes)...)
			out = append(out, danglingUnitTests(p, src, refGone)...)
		}
	}
	return out, nil
}

// treeFiles lists the regular files below the project dir (dbt's own
// output and installed packages excluded), by repository path.
func treeFiles(t *object.Tree, projectDir string) (map[string]*object.File, error) {
	out := map[string]*object.File{}
	root := t
	prefix := ""
	if projectDir != "" && projectDir != "." {
		sub, err := t.Tree(projectDir)
		if err != nil {
			return out, nil // no project on this tree: nothing to check
		}
		root, prefix = sub, projectDir+"/"
	}
	walker := object.NewTreeWalker(root, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("walking the branch tree: %w", err)
		}
		if entry.Mode == filemode.Dir {
			continue
		}
		if first, _, _ := strings.Cut(name, "/"); first == "target" || first == "dbt_packages" || first == "logs" {
			continue
		}
		if entry.Mode != filemode.Regular && entry.Mode != filemode.Executable {
			continue
		}
		f, err := root.TreeEntryFile(&entry)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		f.Name = prefix + name
		out[prefix+name] = f
	}
}

func blobText(f *object.File) ([]byte, error) {
	r, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name, err)
	}
	return b, nil
}

// nodeName is the dbt node a file defines by its name: a model (.sql,
// .py) or a seed (.csv). Macros, tests and analyses define none.
func nodeName(p string) (string, bool) {
	ext := path.Ext(p)
	if ext != ".sql" && ext != ".py" && ext != ".csv" {
		return "", false
	}
	for _, dir := range strings.Split(path.Dir(p), "/") {
		if dir == "macros" || dir == "tests" || dir == "analyses" || dir == "analysis" {
			return "", false
		}
	}
	return strings.TrimSuffix(path.Base(p), ext), true
}

func isYAML(p string) bool { return strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml") }

// addSources adds the "source.table" pairs a YAML file declares.
func addSources(src []byte, into map[string]bool) {
	if !bytes.Contains(src, []byte("sources")) {
		return
	}
	var f struct {
		Sources []struct {
			Name   string `yaml:"name"`
			Tables []struct {
				Name string `yaml:"name"`
			} `yaml:"tables"`
		} `yaml:"sources"`
	}
	if yaml.Unmarshal(src, &f) != nil {
		return
	}
	for _, s := range f.Sources {
		for _, t := range s.Tables {
			into[s.Name+"."+t.Name] = true
		}
	}
}

// danglingCalls finds ref() and source() calls to gone targets: nodes are
// by node key (a name, or NAME@V for ref('NAME', v=V)).
func danglingCalls(p string, src []byte, nodes map[string]string, sources map[string]bool) []Dangling {
	var out []Dangling
	if len(nodes) > 0 && bytes.Contains(src, []byte("ref(")) {
		for _, m := range refCall.FindAllSubmatchIndex(src, -1) {
			name := string(src[m[2]:m[3]])
			if m[4] >= 0 {
				name = string(src[m[4]:m[5]])
			}
			call, key, what := fmt.Sprintf("ref('%s')", name), name, name
			if m[6] >= 0 {
				v := string(src[m[6]:m[7]])
				call, key, what = fmt.Sprintf("ref('%s', v=%s)", name, v), versionKey(name, v), name+" v"+v
			}
			if did := nodes[key]; did != "" {
				out = append(out, Dangling{File: p, Line: lineAt(src, m[0]), What: fmt.Sprintf("%s no longer resolves: the branch %s %s", call, did, what)})
			}
		}
	}
	if len(sources) > 0 && bytes.Contains(src, []byte("source(")) {
		for _, m := range sourceCall.FindAllSubmatchIndex(src, -1) {
			key := string(src[m[2]:m[3]]) + "." + string(src[m[4]:m[5]])
			if sources[key] {
				out = append(out, Dangling{File: p, Line: lineAt(src, m[0]), What: fmt.Sprintf("source('%s', '%s') no longer resolves: the branch removes it", src[m[2]:m[3]], src[m[4]:m[5]])})
			}
		}
	}
	return out
}

// danglingEntries finds properties entries (models:, seeds:, snapshots:)
// naming a gone node.
func danglingEntries(p string, src []byte, nodes map[string]bool) []Dangling {
	mentions := false
	for n := range nodes {
		if bytes.Contains(src, []byte(n)) {
			mentions = true
			break
		}
	}
	if !mentions {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	var out []Dangling
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, list := root.Content[i].Value, root.Content[i+1]
		if (key != "models" && key != "seeds" && key != "snapshots") || list.Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range list.Content {
			if name, ok := entryName(item); ok && nodes[name] {
				out = append(out, Dangling{File: p, Line: item.Line, What: fmt.Sprintf("%s entry %q describes a model the branch deletes", key, name)})
			}
		}
	}
	return out
}

// danglingUnitTests finds unit tests (dbt ≥ 1.8) of a model the branch
// deletes or disables: they name it by its bare name (`model: products`),
// and dbt parse fails with "Unable to find model" on one left behind (on a
// disabled model too, before dbt disabled such tests itself). A unit test
// disabled in its own config is fine.
func danglingUnitTests(p string, src []byte, nodes map[string]string) []Dangling {
	if len(nodes) == 0 || !bytes.Contains(src, []byte("unit_tests")) {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	list := mappingValue(doc.Content[0], "unit_tests")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	var out []Dangling
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		model := mappingValue(item, "model")
		if model == nil || model.Kind != yaml.ScalarNode || nodes[model.Value] == "" {
			continue
		}
		if cfg := mappingValue(item, "config"); cfg != nil && cfg.Kind == yaml.MappingNode {
			if en := mappingValue(cfg, "enabled"); en != nil && (en.Value == "false" || en.Value == "False") {
				continue
			}
		}
		name, _ := entryName(item)
		out = append(out, Dangling{File: p, Line: model.Line,
			What: fmt.Sprintf("unit test %q tests model %s, which the branch %s (dbt parse: unable to find model)", name, model.Value, nodes[model.Value])})
	}
	return out
}

func lineAt(src []byte, off int) int { return 1 + bytes.Count(src[:off], []byte("\n")) }

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n := 0
		fmt.Sscan(m[1], &n)
		return n
	}
	return 1
}

// checkCommit checks a staged commit against its base.
func (sc *scratch) checkCommit(base, commit string) ([]Dangling, error) {
	trees := make([]*object.Tree, 2)
	for i, h := range []string{base, commit} {
		c, err := sc.repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", short(h), err)
		}
		if trees[i], err = c.Tree(); err != nil {
			return nil, fmt.Errorf("reading the tree of %s: %w", short(h), err)
		}
	}
	return checkTree(trees[0], trees[1], sc.projectDir)
}

func danglingText(ds []Dangling) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// blockedMessage explains, in the item's error, why it cannot be approved.
func blockedMessage(blocked []string) string {
	return fmt.Sprintf("blocked: the branch would break the dbt project (%d %s): %s",
		len(blocked), plural(len(blocked), "problem", "problems"), strings.Join(blocked, "; "))
}
