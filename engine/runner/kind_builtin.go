package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
)

// DefaultKinds is the registry every engine starts with: local, lambda,
// sluice.noop, sluice.sleep and sluice.fail.
func DefaultKinds(lc LambdaConfig, logger *slog.Logger) *Kinds {
	k := NewKinds()
	k.Register(dag.KindLocal, runLocal)
	k.Register(dag.KindLambda, LambdaKind(func(ctx context.Context) (LambdaInvoker, error) {
		return NewLambdaClient(ctx, lc, logger)
	}))
	k.Register(dag.KindNoop, runNoop)
	k.Register(dag.KindSleep, runSleep)
	k.Register(dag.KindFail, runFail)
	return k
}

// runNoop succeeds at once; it touches no disk, which makes it the measure
// of the runner's own overhead.
func runNoop(context.Context, *TaskRun) error { return nil }

// runSleep waits, then succeeds — unless the attempt is one of the first
// fail_times, which fail after the wait (demos of retries).
func runSleep(ctx context.Context, t *TaskRun) error {
	st, ok := t.Node.Task.(*dag.SleepTask)
	if !ok {
		return fmt.Errorf("sleep task %q: %w", t.Node.ID, errNoTask)
	}
	timer := time.NewTimer(st.Duration.D())
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if t.Attempt <= st.FailTimes {
		return fmt.Errorf("failing attempt %d of the first %d on purpose (fail_times)", t.Attempt, st.FailTimes)
	}
	return nil
}

// runFail fails at once with the config's message.
func runFail(_ context.Context, t *TaskRun) error {
	msg := "failed on purpose (sluice.fail)"
	if bt, ok := t.Node.Task.(*dag.BuiltinTask); ok && len(bt.Raw) > 0 {
		var cfg struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(bt.Raw, &cfg) == nil && cfg.Message != "" {
			msg = cfg.Message
		}
	}
	return errors.New(msg)
}
