package enginetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DAGFolder writes files into a fresh temp dir and returns it. A key
// without an extension is a DAG name (NAME.json); any other key is a
// slash-separated path kept as it is (a .star file, a file in a
// subfolder).
//
//	dir := enginetest.DAGFolder(t, map[string]string{"hello": `{"nodes": [...]}`})
func DAGFolder(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		WriteDAG(t, dir, name, body)
	}
	return dir
}

// WriteDAG writes one file of a DAG folder the way DAGFolder names it,
// creating parent folders, and returns its path.
func WriteDAG(t testing.TB, dir, name, body string) string {
	t.Helper()
	rel := filepath.FromSlash(name)
	if filepath.Ext(rel) == "" {
		rel += ".json"
	}
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("writing dag %s: %v", name, err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatalf("writing dag %s: %v", name, err)
	}
	return p
}

// LocalDAG is a DAG of local tasks from a compact spec: each step is
// "id: command", or "id<dep1,dep2: command" to depend on earlier ones.
//
//	enginetest.LocalDAG("a: true", "b<a: echo hi")
func LocalDAG(steps ...string) string {
	var b strings.Builder
	b.WriteString(`{"nodes": [`)
	for i, s := range steps {
		head, cmd, _ := strings.Cut(s, ":")
		id, deps, hasDeps := strings.Cut(head, "<")
		id = strings.TrimSpace(id)
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"id": ` + quote(id) + `, "type": "local", "config": {"command": ` + quote(strings.TrimSpace(cmd)) + `}`)
		if hasDeps {
			var qs []string
			for d := range strings.SplitSeq(deps, ",") {
				qs = append(qs, quote(strings.TrimSpace(d)))
			}
			b.WriteString(`, "depends_on": [` + strings.Join(qs, ", ") + `]`)
		}
		b.WriteString("}")
	}
	b.WriteString("]}")
	return b.String()
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
