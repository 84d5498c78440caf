package loader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// TestEmptiedFolderIsAnOutage: a folder that held many DAGs and lists none
// (an unmounted volume) keeps them all active and reports the source as
// failed; a folder losing some of its files, or its only ones, deletes
// them as before.
func TestEmptiedFolderIsAnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("many files vanish at once", func(t *testing.T) {
		dir := t.TempDir()
		for _, n := range []string{"a", "b", "c", "d"} {
			enginetest.WriteDAG(t, dir, n+".json", dagJSON(n, 1))
		}
		l, err := New(localConfig(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			os.Remove(filepath.Join(dir, e.Name()))
		}
		if _, err := l.ScanNow(ctx); err != nil && !errors.Is(err, ErrSourceFailed) {
			t.Fatal(err)
		}
		for _, d := range l.DAGs() {
			if d.Status != api.DAGActive {
				t.Errorf("%s is %s after the folder emptied, want active (kept)", d.Name, d.Status)
			}
		}
		if _, ok := l.Lookup("c"); !ok {
			t.Error("c no longer found")
		}
		src := l.Sources()[0]
		if src.OK || !strings.Contains(src.Error, "lists no DAG file where 4 were") {
			t.Errorf("source = %+v, want failed with the outage explained", src)
		}

		enginetest.WriteDAG(t, dir, "a.json", dagJSON("a", 1))
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		if src := l.Sources()[0]; !src.OK {
			t.Errorf("source still failed once a file is back: %+v", src)
		}
		if _, ok := l.Lookup("b"); ok {
			t.Error("b kept after the folder came back without it")
		}
	})
	t.Run("a few files removed", func(t *testing.T) {
		dir := t.TempDir()
		enginetest.WriteDAG(t, dir, "a.json", dagJSON("a", 1))
		enginetest.WriteDAG(t, dir, "b.json", dagJSON("b", 1))
		l, err := New(localConfig(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, "a.json"))
		os.Remove(filepath.Join(dir, "b.json"))
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := l.Lookup("a"); ok {
			t.Error("a deleted from a two-file folder is still active")
		}
	})
}

func TestDisabledIsNotMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enginetest.WriteDAG(t, dir, "off.json", `{"enabled": false, "nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	enginetest.WriteDAG(t, dir, "on.json", dagJSON("on", 1))
	l, err := New(localConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ScanNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !l.Disabled("off") || l.Disabled("on") || l.Disabled("ghost") {
		t.Errorf("Disabled: off %v, on %v, ghost %v", l.Disabled("off"), l.Disabled("on"), l.Disabled("ghost"))
	}
}
