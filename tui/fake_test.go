package tui

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/sluice-dev/sluice/engine/api"
)

// fakeEngine serves scripted snapshots through the real api.API shape:
// a one-slot coalescing event channel per subscriber, calls recorded.
type fakeEngine struct {
	api.NoOperations
	mu   sync.Mutex
	snap *api.Snapshot
	subs []chan api.Event

	scanResult api.ScanResult
	scanErr    error
	// scanGate, when set, holds ScanNow until it is closed, so a test can
	// look at the spinner.
	scanGate chan struct{}

	triggered []string
	configs   []string // each Trigger's run config, as sent
	backfills []api.BackfillRequest
	marks     []markCall
	cancelled []int64
	cancelErr error
	pins      []string // dag@version, in PinDAG order
	unpins    []string // dag, in UnpinDAG order
}

func newFakeEngine(snap *api.Snapshot) *fakeEngine { return &fakeEngine{snap: snap} }

func (f *fakeEngine) Snapshot() *api.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeEngine) Subscribe() (<-chan api.Event, func()) {
	ch := make(chan api.Event, 1)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, func() {}
}

// publish swaps the snapshot and notifies like the engine's broker does.
func (f *fakeEngine) publish(snap *api.Snapshot, topics api.Topic) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap = snap
	for _, ch := range f.subs {
		ev := api.Event{Topics: topics}
		select {
		case old := <-ch:
			ev.Topics |= old.Topics
		default:
		}
		ch <- ev
	}
}

func (f *fakeEngine) ScanNow(ctx context.Context) (api.ScanResult, error) {
	f.mu.Lock()
	gate := f.scanGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return api.ScanResult{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scanResult, f.scanErr
}

func (f *fakeEngine) Trigger(_ context.Context, dag string, cfg json.RawMessage) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggered = append(f.triggered, dag)
	f.configs = append(f.configs, string(cfg))
	return 100 + int64(len(f.triggered)), nil
}

func (f *fakeEngine) Cancel(_ context.Context, run int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancelErr != nil {
		return f.cancelErr
	}
	f.cancelled = append(f.cancelled, run)
	return nil
}

func (f *fakeEngine) calls() (triggered []string, cancelled []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.triggered...), append([]int64(nil), f.cancelled...)
}

var errNotInFake = errors.New("not supported by the fake engine")

func (f *fakeEngine) RunMeta(context.Context) error               { return errNotInFake }
func (f *fakeEngine) Approve(context.Context, int64) error        { return errNotInFake }
func (f *fakeEngine) Reject(context.Context, int64, string) error { return errNotInFake }
func (*fakeEngine) UndoReject(context.Context, int64) error       { return nil }

func (s *fakeEngine) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error {
	return nil
}

func (f *fakeEngine) PauseSensor(context.Context, string, int, bool) error {
	return errNotInFake
}

var _ api.API = (*fakeEngine)(nil)
