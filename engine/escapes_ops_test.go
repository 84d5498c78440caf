package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/loader"
)

// TestOperationsHandOutSanitisedStrings: like its snapshots, the engine's
// audit log, version list and diffs reach every front end (console, SSH,
// CLI) escaped; the *Records reads keep the values for --json.
func TestOperationsHandOutSanitisedStrings(t *testing.T) {
	t.Parallel()
	const hostile = "\x1b]0;T\x07\x1b[2J\n\u202e\u009b"
	state, dags := t.TempDir(), t.TempDir()
	name := "ev" + hostile + "il"
	file := filepath.Join(dags, name+".json")
	if err := os.WriteFile(file, []byte(`{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{StateDir: state, Loader: loader.Config{Dir: dags, Enabled: true, ScanInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	// Valid JSON escapes the characters; the file's bytes hold a bidi
	// override and a C1 control raw, and the diff shows the escapes.
	cmd, _ := json.Marshal("echo " + hostile)
	writeDAG(t, e, file, "{\n\t\"description\": \"\u202e\u009b\x7f\",\n"+`"nodes": [{"id": "a", "type": "local", "config": {"command": `+string(cmd)+`}}]}`)

	raw := func(s string) bool { return strings.ContainsAny(s, "\x1b\x07\n\u202e\u009b") }
	vs, err := e.DAGVersions(ctx, name)
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	for _, v := range vs {
		if raw(v.Source) || raw(v.DAG) {
			t.Errorf("DAGVersions hands out raw strings: %q %q", v.DAG, v.Source)
		}
	}
	records, err := e.DAGVersionRecords(ctx, name)
	if err != nil || len(records) != 2 || records[0].Source != file {
		t.Errorf("DAGVersionRecords = %+v, %v; want the source as stored", records, err)
	}
	d, err := e.DAGVersionDiff(ctx, name, 1, 2)
	if err != nil || !strings.Contains(d, "+\t\"description\": \"\\u202e\\u009b\\x7f\",\n") || strings.ContainsAny(d, "\x1b\x07\u202e\u009b\x7f") {
		t.Errorf("DAGVersionDiff = %q, %v; want the content escaped", d, err)
	}

	if err := e.PauseDAG(ctx, name, true, "why"+hostile); err != nil {
		t.Fatal(err)
	}
	entries, err := e.AuditLog(ctx, api.AuditQuery{})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	if en := entries[0]; raw(en.Target) || strings.ContainsAny(en.Reason, "\x1b\x07\u202e\u009b") || !strings.Contains(en.Target, `\x1b[2J`) {
		t.Errorf("AuditLog hands out raw strings: %+v", en)
	}
	stored, err := e.AuditRecords(ctx, api.AuditQuery{})
	if err != nil || len(stored) != 1 || stored[0].Target != "dag "+name || stored[0].Reason != "why"+hostile {
		t.Errorf("AuditRecords = %+v, %v; want the entry as recorded", stored, err)
	}
}
