package runner

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

// A store that refuses writes (issue 18: a full disk) must not leave runs
// stuck running nor run them twice. The runner therefore
//   - leaves runs queued, in order, while claims fail, and claims again
//     only after a backoff;
//   - retries a claimed run's first write and the writing of its files
//     (config, batch) until they succeed, before any task starts: a Kafka
//     batch whose files cannot be written waits instead of failing;
//   - retries a run's final commit until the store takes it: the run's
//     work is done and must not be redone by crash recovery;
//   - reports the outage in the snapshot (api.StoreHealth) until a write
//     succeeds.

// storeHealth is the runner's view of the store, guarded by Runner.mu.
type storeHealth struct {
	err      error
	diskFull bool
	since    time.Time
	retryAt  time.Time // no run starts before
	bo       *backoff.ExponentialBackOff
}

// newStoreBackoff paces retries against a failing store.
func (r *Runner) newStoreBackoff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     r.cfg.StoreRetryInterval,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         max(r.cfg.StoreRetryInterval, 10*time.Second),
	}
}

// storeFailed records a write the store refused and holds starts back.
func (r *Runner) storeFailed(err error) {
	r.mu.Lock()
	h := &r.health
	if h.err == nil {
		h.since = r.clock.Now() // shown: "failing since"
		h.bo = r.newStoreBackoff()
		h.bo.Reset()
	}
	h.err, h.diskFull = err, isDiskFull(err)
	// The retry is paced on real time (holdingStartsLocked is asked with
	// time.Now): a backoff waits, it records nothing.
	h.retryAt = time.Now().Add(h.bo.NextBackOff())
	r.version++
	r.mu.Unlock()
	r.changed()
}

// storeOK records a write the store took: the outage, if any, is over.
func (r *Runner) storeOK() {
	r.mu.Lock()
	was := r.health.err != nil
	if was {
		r.log.Info("the store accepts writes again", "down_for", r.clock.Now().Sub(r.health.since).Round(time.Millisecond))
		r.health = storeHealth{}
		r.version++
	}
	r.mu.Unlock()
	if was {
		r.wakeup()
		r.changed()
	}
}

// holdingStartsLocked reports whether dispatch must wait for the backoff.
func (r *Runner) holdingStartsLocked(now time.Time) bool {
	return r.health.err != nil && now.Before(r.health.retryAt)
}

// StoreHealth is the snapshot's view of the store.
func (r *Runner) StoreHealth() api.StoreHealth {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.health.err == nil {
		return api.StoreHealth{}
	}
	return api.StoreHealth{Error: r.health.err.Error(), DiskFull: r.health.diskFull, Since: r.health.since}
}

// retryWrite runs write until the store takes it, with backoff, or the
// runner stops. Errors no retry can change (the claim went to another
// instance, the run is gone, the store is closed) end the retries at once.
func (r *Runner) retryWrite(ar *activeRun, what string, write func() error) error {
	_, err := backoff.Retry(r.base, func() (struct{}, error) {
		err := write()
		if err != nil && permanentStoreError(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(r.newStoreBackoff()),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, next time.Duration) {
			r.storeFailed(err)
			r.log.Error(what+" failed; retrying (nothing runs twice)",
				"run", ar.run.ID, "dag", ar.run.DAG, "retry_in", next.Round(time.Millisecond), "err", err)
		}))
	if err == nil {
		r.storeOK()
	}
	return err
}

func permanentStoreError(err error) bool {
	return errors.Is(err, store.ErrFenced) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrVersionNotFound) || errors.Is(err, store.ErrNotQueued) ||
		errors.Is(err, store.ErrClosed) || errors.Is(err, context.Canceled)
}

// isDiskFull recognises a full disk as the OS (ENOSPC, EDQUOT), SQLite
// (SQLITE_FULL: "database or disk is full") and PostgreSQL (SQLSTATE 53100
// disk_full: "could not extend file") report it.
func isDiskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"disk is full", "no space left on device", "disk quota exceeded", "could not extend file", "sqlstate 53100"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// needsRunFiles: a DAG with local tasks hands them the run's config and
// batch as files (TaskRun.Env); other kinds touch no disk.
func needsRunFiles(def *dag.DAG) bool {
	for i := range def.Nodes {
		if def.Nodes[i].Type == dag.KindLocal {
			return true
		}
	}
	return false
}
