package engine

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// The cluster view has the shape of every other service: Stop of a view
// never started is fine, a second Start is refused, Stop waits and is
// idempotent, and no Start follows a Stop.
func TestClusterViewSharesTheLifecycle(t *testing.T) {
	t.Parallel()
	st, _ := enginetest.Store(t)
	newView := func() *clusterView {
		c := newClusterView(10 * time.Millisecond)
		c.st, c.self = st, func() string { return "self" }
		c.lookup = func(string) (*dag.DAG, bool) { return nil, false }
		c.sensors = func() []api.Sensor { return nil }
		c.publish = func(api.Topic) {}
		c.log = slog.New(slog.DiscardHandler)
		return c
	}

	never := newView()
	never.Stop()
	if err := never.Start(context.Background()); !errors.Is(err, lifecycle.ErrStopped) {
		t.Fatalf("Start after Stop of a never-started view = %v, want %v", err, lifecycle.ErrStopped)
	}

	c := newView()
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := c.Start(context.Background()); !errors.Is(err, lifecycle.ErrStarted) {
		t.Fatalf("second Start = %v, want %v", err, lifecycle.ErrStarted)
	}
	c.Stop()
	c.Stop()
	if c.life.Running() {
		t.Fatal("view still running after Stop")
	}
}
