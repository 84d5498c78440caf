package runner

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/engine/store"
)

// An engine that was SIGKILLed leaves its local tasks running: each is in
// its own process group, which nothing else stops. Before a restart settles
// their runs as interrupted (and maybe re-queues them, which would run the
// task twice at once), it stops the groups it recorded.

// orphanOutcome says what stopOrphan found.
type orphanOutcome string

const (
	orphanStopped orphanOutcome = "stopped"
	orphanGone    orphanOutcome = "gone"
	// The pid is alive but started at another time: a recycled pid that
	// belongs to someone else now.
	orphanReused orphanOutcome = "pid reused"
)

// orphanPoll is how often a stopping group's leader is checked for.
const orphanPoll = 20 * time.Millisecond

// stopOrphan stops a recorded process group if its leader is still the
// process that was recorded: SIGTERM to the group, up to grace for the
// leader to go, then SIGKILL to the group (stragglers are not spared).
func stopOrphan(p store.TaskProcess, grace time.Duration) (orphanOutcome, error) {
	if p.PGID <= 1 {
		return orphanGone, fmt.Errorf("refusing to signal process group %d", p.PGID)
	}
	ticks, alive, err := processStart(p.PGID)
	switch {
	case err != nil:
		return orphanGone, err
	case !alive:
		return orphanGone, nil
	case ticks != p.StartTicks:
		return orphanReused, nil
	}
	if err := syscall.Kill(-p.PGID, syscall.SIGTERM); err != nil {
		return orphanGone, fmt.Errorf("sending SIGTERM to process group %d: %w", p.PGID, err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		ticks, alive, err := processStart(p.PGID)
		if err == nil && (!alive || ticks != p.StartTicks) {
			break
		}
		time.Sleep(orphanPoll)
	}
	// ESRCH: the whole group already went with the leader.
	syscall.Kill(-p.PGID, syscall.SIGKILL)
	return orphanStopped, nil
}

// stopOrphans stops, all at once, the recorded process groups of runs the
// store still has running.
func (r *Runner) stopOrphans(ctx context.Context) error {
	ps, err := r.st.RunningProcesses(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() {
			outcome, err := stopOrphan(p, r.cfg.KillGrace)
			switch {
			case err != nil:
				r.log.Error("stopping orphaned task", "run", p.RunID, "task", p.Task, "pgid", p.PGID, "err", err)
			case outcome == orphanStopped:
				r.log.Warn("stopped orphaned task", "run", p.RunID, "task", p.Task, "attempt", p.Attempt, "pgid", p.PGID)
			default:
				r.log.Info("orphaned task already gone", "run", p.RunID, "task", p.Task, "pgid", p.PGID, "found", string(outcome))
			}
		})
	}
	wg.Wait()
	return nil
}
