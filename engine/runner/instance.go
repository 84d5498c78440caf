package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

// NewInstanceID names this process among the store's instances:
// host-pid-random, unique even when a pid is reused.
func NewInstanceID() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Instance is this runner's instance id in the store.
func (r *Runner) Instance() string { return r.id }

// heartbeatEvery is the heartbeat (and, on a shared store, reaping)
// period: six beats per lease, so a few lost ones do not kill an instance.
func (r *Runner) heartbeatEvery() time.Duration {
	return max(r.cfg.Lease/6, 50*time.Millisecond)
}

// register records this instance and starts its heartbeat, which has its
// own goroutine: a slow claim or reap never delays it.
func (r *Runner) register(ctx context.Context, now time.Time) error {
	host, _ := os.Hostname()
	if err := r.st.Register(ctx, store.Instance{ID: r.id, Host: host, PID: os.Getpid(), StartedAt: now}); err != nil {
		return err
	}
	beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.beatStop, r.beatDone = stop, make(chan struct{})
	r.countLive(ctx)
	go func() {
		defer close(r.beatDone)
		t := time.NewTicker(r.heartbeatEvery())
		defer t.Stop()
		for {
			select {
			case <-beatCtx.Done():
				return
			case <-t.C:
				if err := r.st.Heartbeat(beatCtx, r.id, r.clock.Now()); err != nil && beatCtx.Err() == nil {
					r.log.Error("heartbeat", "instance", r.id, "err", err)
				}
				r.countLive(beatCtx)
			}
		}
	}()
	return nil
}

// countLive refreshes the count of live instances the snapshot shows.
func (r *Runner) countLive(ctx context.Context) {
	ins, err := r.st.Instances(ctx)
	if err != nil {
		return
	}
	now, n := r.clock.Now(), 0
	for _, in := range ins {
		if in.Status(now, r.cfg.Lease) == store.InstanceLive {
			n++
		}
	}
	if int64(n) != r.live.Swap(int64(n)) {
		r.changed()
	}
}

// LiveInstances is the number of live instances sharing the store, as of
// the last heartbeat (at least this one once started).
func (r *Runner) LiveInstances() int { return int(max(r.live.Load(), 1)) }

// deregister stops the heartbeat and records a clean stop.
func (r *Runner) deregister(ctx context.Context) {
	if r.beatStop == nil {
		return
	}
	r.beatStop()
	<-r.beatDone
	if err := r.st.Deregister(ctx, r.id, r.clock.Now()); err != nil {
		r.log.Error("deregistering instance", "instance", r.id, "err", err)
	}
}

// reap settles the runs of instances whose heartbeat is older than the
// lease, re-queueing those whose DAG says retry_on_crash.
func (r *Runner) reap(ctx context.Context) {
	rec, err := r.st.ReapDead(ctx, r.id, r.clock.Now(), r.cfg.Lease, r.crashRetry(ctx))
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("reaping dead instances", "err", err)
		}
		return
	}
	for _, in := range rec {
		r.log.Warn("run of a dead instance interrupted", "run", in.Run.ID, "dag", in.Run.DAG, "instance", in.Run.Instance, "requeued_as", in.Requeued)
	}
	if len(rec) > 0 {
		r.refreshShared(ctx)
		r.wakeup()
	}
}

// refreshShared re-reads the queue and the other instances' running runs
// from the store: on a shared store, what this instance sees queued and
// why it waits include every instance's runs.
func (r *Runner) refreshShared(ctx context.Context) {
	queue, err := r.st.ListRuns(ctx, store.ListOptions{States: []api.RunState{api.RunQueued}})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("reading the shared queue", "err", err)
		}
		return
	}
	running, err := r.st.ListRuns(ctx, store.ListOptions{States: []api.RunState{api.RunRunning}})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("reading the shared queue", "err", err)
		}
		return
	}
	others := map[string]int{}
	for _, run := range running {
		if run.Instance != r.id {
			others[run.DAG]++
		}
	}
	keep := make(map[int64]bool, len(queue))
	r.mu.Lock()
	for _, run := range queue {
		keep[run.ID] = true
		r.pushLocked(r.withDAGPriority(run))
	}
	var gone []int64
	r.queue.each(func(it *queued) bool {
		if !keep[it.id] {
			gone = append(gone, it.id)
		}
		return true
	})
	for _, id := range gone {
		r.removeLocked(id)
	}
	r.others = others
	r.version++
	r.mu.Unlock()
	r.changed()
}
