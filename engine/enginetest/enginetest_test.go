package enginetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

func TestStoreIsUsableAndInItsDir(t *testing.T) {
	t.Parallel()
	st, dir := Store(t)
	id, err := st.CreateRun(context.Background(), store.NewRun{DAG: "x"})
	if err != nil || id == 0 {
		t.Fatalf("CreateRun = %d, %v", id, err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err != nil {
		t.Errorf("no database in the returned dir: %v", err)
	}
}

func TestDAGFolderNamesAndParses(t *testing.T) {
	t.Parallel()
	dir := DAGFolder(t, map[string]string{
		"hello":          LocalDAG("a: true", "b<a: echo \"hi\"", "c < a, b : false"),
		"team/nested":    LocalDAG("x: true"),
		"script.star":    `dag = {"nodes": []}`,
		"notes/read.txt": "not a dag",
	})
	for _, rel := range []string{"hello.json", "team/nested.json", "script.star", "notes/read.txt"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			t.Errorf("missing %s: %v", rel, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "hello.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := dag.Parse("hello.json", data, dag.Options{})
	if err != nil {
		t.Fatalf("LocalDAG does not parse: %v\n%s", err, data)
	}
	if got := len(d.Nodes); got != 3 {
		t.Fatalf("nodes = %d, want 3", got)
	}
	c := d.Nodes[2]
	if c.ID != "c" || strings.Join(c.DependsOn, ",") != "a,b" {
		t.Errorf("node c = %q depends on %v, want c on [a b]", c.ID, c.DependsOn)
	}
}

func TestClockMovesOnlyWhenAdvanced(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	c := NewClock(at)
	soon, later := c.After(time.Minute), c.After(time.Hour)
	select {
	case <-c.After(0):
	default:
		t.Error("After(0) did not deliver at once")
	}
	c.Advance(time.Minute)
	if got := <-soon; !got.Equal(at.Add(time.Minute)) {
		t.Errorf("a minute's waiter got %v", got)
	}
	select {
	case <-later:
		t.Error("an hour's waiter fired after a minute")
	default:
	}
	if !c.Now().Equal(at.Add(time.Minute)) {
		t.Errorf("Now = %v", c.Now())
	}
}
