package loader

import (
	"context"
)

// Starlark files run up to dag's wall-clock limit each; thirty slow ones
// held the engine's start for half a minute. Background scans (Start's,
// the periodic one, file notifications) hand them to evaluateLater, which
// evaluates them a CPU at a time each and applies each result as it comes,
// unless a scan has dealt with the file since.

// evaluateLater evaluates objs of st in the background, owned by ctx and
// the loader's lifecycle (Stop waits for them). The caller has committed the outcome that
// deferred them, so they are in l.pending.
func (l *Loader) evaluateLater(ctx context.Context, st *sourceState, objs []Object) {
	for _, o := range objs {
		l.life.Go(func() {
			select {
			case l.evalSlots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-l.evalSlots }()
			if !l.stillPending(st.src.Name(), o) || ctx.Err() != nil {
				return
			}
			l.mu.RLock()
			known := l.reg.known(st.src.Name())
			l.mu.RUnlock()
			r := fileResult{obj: o}
			l.readOne(ctx, st.src, &r, known)
			if ctx.Err() != nil {
				return
			}
			l.applyEvaluated(st.src.Name(), r)
		})
	}
}

func (l *Loader) stillPending(source string, o Object) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	v, ok := l.pending[fileRef{source, o.Key}]
	return ok && v == o.Version
}

// settlePending records what a committed outcome deferred and forgets the
// evaluations it made stale: files it read itself, and files gone from its
// listing. The caller holds l.mu.
func (l *Loader) settlePending(out scanOutcome) {
	listed := make(map[string]bool, len(out.results))
	for _, r := range out.results {
		listed[r.obj.Key] = true
		if !r.pending && !r.unchanged {
			delete(l.pending, fileRef{out.source, r.obj.Key})
		}
	}
	for ref := range l.pending {
		if ref.source == out.source && !listed[ref.key] {
			delete(l.pending, ref)
		}
	}
	for _, o := range out.deferred {
		l.pending[fileRef{out.source, o.Key}] = o.Version
	}
}

// applyEvaluated applies one background evaluation, if it is still the
// one awaited.
func (l *Loader) applyEvaluated(source string, r fileResult) {
	ref := fileRef{source, r.obj.Key}
	l.mu.Lock()
	if v, ok := l.pending[ref]; !ok || v != r.obj.Version {
		l.mu.Unlock()
		return
	}
	delete(l.pending, ref)
	changes, _ := l.reg.apply(scanOutcome{source: source, results: []fileResult{r}, partial: true}, l.now())
	if len(changes) > 0 {
		l.view, l.scheds = l.reg.all()
	}
	l.mu.Unlock()
	for _, c := range changes {
		l.logChange(c)
	}
	if len(changes) > 0 {
		l.notify()
	}
}
