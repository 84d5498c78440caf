package loader

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// waitTimeout bounds every wait for the loader to notice something. Hot
// reload is meant to take well under a second; the margin is for -race on a
// busy 2-core machine.
const waitTimeout = 10 * time.Second

// dagJSON is a valid DAG file with n chained local tasks; desc makes each
// version's bytes distinct.
func dagJSON(desc string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"description": %q, "schedule": "0 3 * * *", "nodes": [`, desc)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": "t%02d", "type": "local", "config": {"command": ["./bin/step", "%d"], "timeout": 60}`, i, i)
		if i > 0 {
			fmt.Fprintf(&b, `, "depends_on": ["t%02d"]`, i-1)
		}
		b.WriteString("}")
	}
	b.WriteString("]}")
	return b.String()
}

// brokenJSON fails validation (an edge to a missing node), not syntax.
const brokenJSON = `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}, "depends_on": ["missing"]}]}`

// logBuffer is a slog handler target safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func localConfig(dir string) Config {
	return Config{Dir: dir, Enabled: true, ScanInterval: time.Hour, Env: func(string) (string, bool) { return "", false }}
}

// startLoader starts l and stops it when the test ends.
func startLoader(t testing.TB, l *Loader) {
	t.Helper()
	if err := l.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(l.Stop)
}

// waitFor waits on Changes until cond holds for the registry, or fails the
// test at the deadline with the registry as it was.
func waitFor(t testing.TB, l *Loader, what string, cond func([]api.DAG) bool) []api.DAG {
	t.Helper()
	var ds []api.DAG
	if !enginetest.PollOn(l.Changes(), waitTimeout, func() bool {
		ds = l.DAGs()
		return cond(ds)
	}) {
		enginetest.TimedOut(t, waitTimeout, what+"; registry:\n"+dump(ds))
	}
	return ds
}

func dump(ds []api.DAG) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s %s %s %s err=%q conflict=%q\n", d.Name, d.Source, d.Status, d.Location, ErrorText(d.Errors), d.ConflictWith)
	}
	return b.String()
}

// entry finds the registry entry of a name held or claimed from a location
// ending in suffix ("" matches any).
func entry(ds []api.DAG, name, suffix string) (api.DAG, bool) {
	for _, d := range ds {
		if d.Name == name && strings.HasSuffix(d.Location, suffix) {
			return d, true
		}
	}
	return api.DAG{}, false
}

func hasStatus(name string, status api.DAGStatus) func([]api.DAG) bool {
	return func(ds []api.DAG) bool {
		d, ok := entry(ds, name, "")
		return ok && d.Status == status
	}
}

func hasDescription(l *Loader, name, desc string) func([]api.DAG) bool {
	return func([]api.DAG) bool {
		d, ok := l.Lookup(name)
		return ok && d.Description == desc
	}
}

// countingSource counts List and Read calls of the source it wraps.
type countingSource struct {
	Source
	lists, reads atomic.Int64
}

func (c *countingSource) List(ctx context.Context) (Listing, error) {
	c.lists.Add(1)
	return c.Source.List(ctx)
}

func (c *countingSource) Read(ctx context.Context, o Object) ([]byte, error) {
	c.reads.Add(1)
	return c.Source.Read(ctx, o)
}
