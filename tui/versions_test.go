package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// fakeVersions are the stored versions of demo/fanout the fake engine
// serves: v3 in the file, v2 pinned.
func fakeVersions() []api.DAGVersion {
	at := func(h int) time.Time { return viewtest.Now.Add(-time.Duration(h) * time.Hour).UTC() }
	var vs []api.DAGVersion
	for v := 3; v >= 1; v-- {
		vs = append(vs, api.DAGVersion{DAG: "demo/fanout", Version: v, SHA256: fmt.Sprintf("%d%063d", v, 0),
			Source: "/srv/sluice/dags/demo/fanout.json", FirstSeen: at(10 * (4 - v)), LastSeen: at(9 * (4 - v))})
	}
	return vs
}

func (f *fakeEngine) DAGVersions(_ context.Context, dag string) ([]api.DAGVersion, error) {
	if dag != "demo/fanout" {
		return nil, nil
	}
	return fakeVersions(), nil
}

func (f *fakeEngine) DAGVersionDiff(_ context.Context, dag string, v1, v2 int) (string, error) {
	return fmt.Sprintf("--- fanout.json v%d\n+++ fanout.json v%d\n@@ -1,3 +1,3 @@\n {\"nodes\": [\n-  {\"id\": \"a\", \"type\": \"local\"}\n+  {\"id\": \"a\", \"type\": \"lambda\"}\n ]}\n", v1, v2), nil
}

func (f *fakeEngine) PinDAG(_ context.Context, dag string, version int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pins = append(f.pins, fmt.Sprintf("%s@%d", dag, version))
	return nil
}

func (f *fakeEngine) UnpinDAG(_ context.Context, dag string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unpins = append(f.unpins, dag)
	return nil
}

// pinnedSnapshot is the loaded fixture with demo/fanout at v3, pinned to v2.
func pinnedSnapshot() *api.Snapshot {
	s := viewtest.Loaded()
	for i := range s.DAGs {
		if s.DAGs[i].Name == "demo/fanout" {
			s.DAGs[i].Version = 3
			s.DAGs[i].Pinned = &api.DAGPin{Version: 2, By: "olga", At: viewtest.Now.Add(-time.Hour)}
		}
	}
	return s
}

// v on a DAG lists its versions (the file's and the pinned one marked),
// enter shows a version's diff against the previous one, esc goes back,
// p pins the selected version after a confirmation that defaults to No.
func TestDAGVersions(t *testing.T) {
	t.Parallel()
	m, f := newModel(t, pinnedSnapshot())
	c := startModel(t, m, f, 100, 24)
	c.waitFor("[pinned v2, file at v3]")
	c.keys("j", "j", "v")
	list := c.waitFor("VERSION", "v3 file", "v2 pinned", "v1")
	requireGolden(t, list, "list")

	c.keys("j", "enter")
	diff := c.waitFor("diff v1 → v2", `+  {"id": "a", "type": "lambda"}`)
	requireGolden(t, diff, "diff")

	c.keys("esc")
	c.waitFor("v3 file")
	c.keys("j", "p")
	confirm := c.waitFor("Pin demo/fanout to v1?", "> No <")
	requireGolden(t, confirm, "pin_confirm")
	c.keys("y")
	c.waitFor("pinned demo/fanout to v1")
	c.final()
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.pins, ",") != "demo/fanout@1" {
		t.Fatalf("pins reaching the engine: %v", f.pins)
	}
}

// u in the version list unpins the DAG after a confirmation that defaults
// to No: enter there changes nothing, y unpins. A DAG that is not pinned
// is told so, and nothing reaches the engine.
func TestDAGVersionsUnpin(t *testing.T) {
	t.Parallel()
	m, f := newModel(t, pinnedSnapshot())
	c := startModel(t, m, f, 100, 24)
	c.waitFor("[pinned v2, file at v3]")
	c.keys("j", "j", "v")
	c.waitFor("VERSION", "v3 file", "v2 pinned")
	c.keys("u")
	c.waitFor("Unpin demo/fanout? It runs its file's version again.", "> No <")
	c.keys("enter")
	c.waitGone("Unpin demo/fanout?")
	f.mu.Lock()
	declined := len(f.unpins)
	f.mu.Unlock()
	if declined != 0 {
		t.Fatalf("No unpinned: %v", f.unpins)
	}
	c.keys("u")
	c.waitFor("Unpin demo/fanout?", "> No <")
	c.keys("y")
	c.waitFor("unpinned demo/fanout")
	c.final()
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.unpins, ",") != "demo/fanout" {
		t.Fatalf("unpins reaching the engine: %v", f.unpins)
	}
}

func TestUnpinOfAnUnpinnedDAGIsRefused(t *testing.T) {
	t.Parallel()
	m, f := newModel(t, viewtest.Loaded())
	c := startModel(t, m, f, 100, 24)
	c.keys("j", "j", "v")
	c.waitFor("VERSION", "v3", "v1")
	c.keys("u")
	c.waitFor("demo/fanout is not pinned")
	c.final()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.unpins) != 0 {
		t.Fatalf("unpins reaching the engine: %v", f.unpins)
	}
}
