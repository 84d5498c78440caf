package enginetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

func TestPoll(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	if !Poll(10*time.Second, func() bool { return n.Add(1) >= 3 }) {
		t.Error("Poll gave up on a condition that came to hold")
	}
	start := time.Now()
	if Poll(50*time.Millisecond, func() bool { return false }) {
		t.Error("Poll reported a condition that never held")
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("Poll gave up after %v, before its 50ms deadline", waited)
	}
}

// A signal on wake re-checks the condition; the condition flipping before
// the signal ends the wait well before its hour's deadline.
func TestPollOnWakesOnSignal(t *testing.T) {
	t.Parallel()
	wake := make(chan int, 1)
	var ready atomic.Bool
	done := make(chan bool)
	go func() { done <- PollOn(wake, time.Hour, ready.Load) }()
	ready.Store(true)
	wake <- 1
	if !<-done {
		t.Error("PollOn returned false")
	}
	// A closed wake channel is polled, not spun on.
	closed := make(chan struct{})
	close(closed)
	if PollOn(closed, 30*time.Millisecond, func() bool { return false }) {
		t.Error("PollOn on a closed channel reported a condition that never held")
	}
}

// fakeT records the failure Eventually reports instead of failing.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = strings.TrimSpace(fmt.Sprintf(format, args...))
}

func TestEventuallyNamesWhatTimedOut(t *testing.T) {
	t.Parallel()
	ft := &fakeT{TB: t}
	Eventually(ft, 20*time.Millisecond, func() bool { return false }, "the run to finish")
	if want := "timed out after 20ms waiting for the run to finish"; ft.msg != want {
		t.Errorf("failure = %q, want %q", ft.msg, want)
	}
	ft = &fakeT{TB: t}
	Eventually(ft, time.Second, func() bool { return true }, "nothing")
	if ft.msg != "" {
		t.Errorf("failed on a condition that held: %q", ft.msg)
	}
}

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
