package meta_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/meta"
	"github.com/sluice-dev/sluice/engine/meta/mode"
)

// stuckBI is a BI source that never answers until its caller gives up.
type stuckBI struct{}

func (stuckBI) Graph(ctx context.Context) (*mode.Graph, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestAnalyzeDeadline(t *testing.T) {
	t.Parallel()
	in := jaffleInputs(t, stuckBI{})
	in.Timeout = 50 * time.Millisecond
	var mu sync.Mutex
	var heard []meta.Progress
	in.Progress = func(p meta.Progress) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, p)
	}
	// The outer context is only a safety net: the analysis's own deadline
	// must end it long before.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := meta.New(in)
	// dbt first, as `meta analyze` does, so the deadline falls in read_bi
	// however slow the machine.
	if err := p.RunStep(ctx, meta.StepReadDBT); err != nil {
		t.Fatal(err)
	}
	_, err := p.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("the analysis ran past its own deadline")
	}
	if !errors.Is(err, meta.ErrDeadline) || !strings.Contains(err.Error(), "within 50ms") || !strings.Contains(err.Error(), "step read_bi") {
		t.Fatalf("err = %v, want ErrDeadline naming the time and the step", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var started, finished []string
	for _, p := range heard {
		if p.Total != len(meta.Steps()) {
			t.Errorf("progress total %d", p.Total)
		}
		if p.Finished {
			finished = append(finished, p.Step)
		} else {
			started = append(started, p.Step)
		}
	}
	if len(started) == 0 || started[len(started)-1] != meta.StepReadBI {
		t.Errorf("steps started: %v, want read_bi last", started)
	}
	for _, s := range finished {
		if s == meta.StepReadBI {
			t.Error("read_bi reported finished")
		}
	}
}

func TestAnalyzeReportsProgress(t *testing.T) {
	t.Parallel()
	in := jaffleInputs(t, &staticBI{g: jaffleBI()})
	var last meta.Progress
	n := 0
	in.Progress = func(p meta.Progress) { last, n = p, n+1 }
	if _, err := meta.Analyze(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	total := len(meta.Steps())
	if n != 2*total || !last.Finished || last.Step != meta.StepReport || last.Done != total {
		t.Errorf("%d progress calls, last %+v; want %d, report finished, %d done", n, last, 2*total, total)
	}
}
