package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/store"
)

// oneTaskDAG is a DAG of one task, named task, that appends its name to
// side.
func oneTaskDAG(task, side string) string {
	return fmt.Sprintf(`{"nodes": [{"id": %q, "type": "local", "config": {"command": "echo %s >> %s"}}]}`, task, task, side)
}

func dagRow(t *testing.T, e *Engine, name string) api.DAG {
	t.Helper()
	for _, d := range e.Snapshot().DAGs {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no dag %q", name)
	return api.DAG{}
}

func writeDAG(t *testing.T, e *Engine, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPinnedVersionRunsThroughEditsInvalidFilesAndRestarts(t *testing.T) {
	t.Parallel()
	state, dags := t.TempDir(), t.TempDir()
	side := filepath.Join(t.TempDir(), "side")
	file := filepath.Join(dags, "etl.json")
	if err := os.WriteFile(file, []byte(oneTaskDAG("first", side)), 0o644); err != nil {
		t.Fatal(err)
	}
	open := func() *Engine {
		e, err := New(Config{StateDir: state, Loader: loader.Config{Dir: dags, Enabled: true, ScanInterval: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return e
	}
	ctx := api.WithActor(context.Background(), "olga")
	var seen int
	// run triggers etl and returns the tasks that ran.
	run := func(e *Engine, wantVersion int) string {
		t.Helper()
		id, err := e.Trigger(ctx, "etl", nil)
		if err != nil {
			t.Fatal(err)
		}
		r := waitRun(t, e, id)
		if r.State != api.RunSuccess || r.DAGVersion != wantVersion {
			t.Fatalf("run %d = %s at v%d, want success at v%d", id, r.State, r.DAGVersion, wantVersion)
		}
		return strings.Join(sideEffects(t, side, &seen), ",")
	}

	e := open()
	if d := dagRow(t, e, "etl"); d.Version != 1 || d.Pinned != nil {
		t.Fatalf("first load: %+v", d)
	}
	writeDAG(t, e, file, oneTaskDAG("second", side))
	if d := dagRow(t, e, "etl"); d.Version != 2 {
		t.Fatalf("after an edit: version %d", d.Version)
	}
	if got := run(e, 2); got != "second" {
		t.Fatalf("side effects %v", got)
	}
	if err := e.PinDAG(ctx, "etl", 1); err != nil {
		t.Fatal(err)
	}
	d := dagRow(t, e, "etl")
	if d.Pinned == nil || d.Pinned.Version != 1 || d.Pinned.By != "olga" || d.Version != 2 || d.Def.Nodes[0].ID != "first" {
		t.Fatalf("pinned row: %+v pinned %+v", d, d.Pinned)
	}
	if got := run(e, 1); got != "first" {
		t.Fatalf("side effects %v", got)
	}
	// A file turning invalid while pinned changes nothing.
	writeDAG(t, e, file, `{"nodes": [`)
	if got := run(e, 1); got != "first" {
		t.Fatalf("side effects %v", got)
	}
	if err := e.PinDAG(ctx, "etl", 9); !errors.Is(err, store.ErrVersionNotFound) {
		t.Fatalf("pinning a version never seen: %v", err)
	}
	e.Stop()

	// Restarted with the invalid file: the pin still runs.
	e = open()
	if d := dagRow(t, e, "etl"); d.Pinned == nil || d.Pinned.Version != 1 {
		t.Fatalf("after restart: %+v", d)
	}
	if got := run(e, 1); got != "first" {
		t.Fatalf("side effects %v", got)
	}
	// A valid third version while pinned: recorded, not run.
	writeDAG(t, e, file, oneTaskDAG("third", side))
	if d := dagRow(t, e, "etl"); d.Version != 3 || d.Pinned == nil {
		t.Fatalf("third: %+v", d)
	}
	vs, err := e.DAGVersions(ctx, "etl")
	if err != nil || len(vs) != 3 || !vs[0].Current || vs[0].Version != 3 || !vs[2].Pinned {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	diff, err := e.DAGVersionDiff(ctx, "etl", 1, 3)
	if err != nil || !strings.Contains(diff, "-") || !strings.Contains(diff, "+{\"nodes\": [{\"id\": \"third\"") {
		t.Fatalf("diff = %q, %v", diff, err)
	}
	if err := e.UnpinDAG(ctx, "etl"); err != nil {
		t.Fatal(err)
	}
	if got := run(e, 3); got != "third" {
		t.Fatalf("side effects %v", got)
	}
	// A re-run runs its original's version, not the file's.
	first, err := e.st.ListRuns(ctx, store.ListOptions{DAG: "etl"})
	if err != nil {
		t.Fatal(err)
	}
	orig := first[len(first)-1] // the oldest: v2
	id, err := e.Rerun(ctx, orig.ID, api.RerunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, e, id); r.DAGVersion != 2 || r.State != api.RunSuccess {
		t.Fatalf("re-run = %+v", r)
	}
	if got := sideEffects(t, side, &seen); strings.Join(got, ",") != "second" {
		t.Fatalf("re-run side effects %v", got)
	}
	audit, _ := e.AuditLog(ctx, api.AuditQuery{})
	actions := map[string]int{}
	for _, a := range audit {
		actions[a.Action]++
	}
	if actions["pin"] != 2 || actions["unpin"] != 1 {
		t.Fatalf("audit %+v", audit)
	}
	e.Stop()
}
