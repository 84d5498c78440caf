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
	t.Run("a subfolder's volume goes away", func(t *testing.T) {
		dir := t.TempDir()
		enginetest.WriteDAG(t, dir, "x.json", dagJSON("x", 1))
		for _, n := range []string{"a", "b", "sub/c"} {
			enginetest.WriteDAG(t, dir, "team/"+n+".json", dagJSON(n, 1))
		}
		l, err := New(localConfig(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		team := filepath.Join(dir, "team")
		// Unmounted: the mount point stays, empty.
		if err := os.RemoveAll(team); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(team, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"x", "team/a", "team/b", "team/sub/c"} {
			if _, ok := l.Lookup(n); !ok {
				t.Errorf("%s dropped when team/ listed nothing, want kept", n)
			}
		}
		if src := l.Sources()[0]; !strings.Contains(src.Error, "folder team/ lists nothing where 3 DAG files were") {
			t.Errorf("source = %+v, want the outage of team/ explained", src)
		}

		// A README left behind: the folder was cleaned up, not unmounted.
		if err := os.WriteFile(filepath.Join(team, "README"), []byte("moved"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ScanNow(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := l.Lookup("team/a"); ok {
			t.Error("team/a kept after its folder was emptied of DAG files only")
		}
		if src := l.Sources()[0]; src.Error != "" {
			t.Errorf("source still reports %q", src.Error)
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

// TestEmptiedS3PrefixIsAnOutage: a bucket prefix that held many DAGs and
// suddenly lists none (a wrong prefix, a lifecycle rule, a replication
// gap) keeps them all and reports the source failed, as a folder does.
func TestEmptiedS3PrefixIsAnOutage(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t)
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		f.put(t, "dags/"+n+".json", dagJSON(n, 1))
	}
	l, err := New(f.config("dags/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	scan(t, l)
	for _, n := range names {
		f.delete(t, "dags/"+n+".json")
	}
	if _, err := l.ScanNow(context.Background()); err != nil && !errors.Is(err, ErrSourceFailed) {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := l.Lookup(n); !ok {
			t.Errorf("%s dropped when the prefix listed nothing, want kept", n)
		}
	}
	src := l.Sources()[0]
	if src.OK || !strings.Contains(src.Error, "lists no DAG file where 4 were") {
		t.Errorf("source = %+v, want failed with the outage explained", src)
	}

	f.put(t, "dags/a.json", dagJSON("a", 2))
	scan(t, l)
	if src := l.Sources()[0]; !src.OK {
		t.Errorf("source still failed once an object is back: %+v", src)
	}
	if _, ok := l.Lookup("b"); ok {
		t.Error("b kept after the prefix came back without it")
	}
}
