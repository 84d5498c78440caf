package meta

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A whole analysis runs under a deadline: centrality is quadratic, and a
// 200,000-model chain once ran for minutes with nothing said.

// DefaultTimeout bounds Run when Inputs.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// ErrDeadline is returned by Run when the analysis did not finish in time.
var ErrDeadline = errors.New("metapipeline analysis timed out")

// Progress is what Inputs.Progress hears: a step starting (Finished false)
// or finished, how many steps are done of how many the run needs, and the
// time since the run began.
type Progress struct {
	Step     string
	Finished bool
	Done     int
	Total    int
	Elapsed  time.Duration
}

func (in *Inputs) timeout() time.Duration {
	if in.Timeout == 0 {
		return DefaultTimeout
	}
	return in.Timeout
}

// withDeadline bounds ctx by the analysis timeout (none when negative).
func (p *Pipeline) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.in.timeout() < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, p.in.timeout(), ErrDeadline)
}

// deadlineError turns a step cut short by the analysis deadline into an
// error that says so, where, and what to change.
func (p *Pipeline) deadlineError(ctx context.Context, err error) error {
	if !errors.Is(context.Cause(ctx), ErrDeadline) {
		return err
	}
	p.progressMu.Lock()
	step, running, done := p.current, p.running, p.done
	p.progressMu.Unlock()
	where := "in step " + step
	if !running {
		where = "after step " + step
	}
	return fmt.Errorf("%w: not finished within %s (%s, %d of %d steps done); raise the timeout: %w",
		ErrDeadline, p.in.timeout(), where, done, len(steps), err)
}

// report tells Inputs.Progress about a step starting or finishing.
func (p *Pipeline) report(step string, finished bool) {
	p.progressMu.Lock()
	if p.started.IsZero() {
		p.started = time.Now()
	}
	p.current, p.running = step, !finished
	if finished {
		p.done++
	}
	pr := Progress{Step: step, Finished: finished, Done: p.done, Total: len(steps), Elapsed: time.Since(p.started)}
	p.progressMu.Unlock()
	if p.in.Progress != nil {
		p.in.Progress(pr)
	}
}
