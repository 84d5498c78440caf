package tui

import (
	"context"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/views/styles"
	"github.com/sluice-dev/sluice/views/viewtest"
)

// recordingEngine is the fake engine with the Kafka and review calls
// recorded (the shared fake refuses them), so a test can assert what a
// keypress asked of the engine, and script what the engine answers.
type recordingEngine struct {
	*fakeEngine

	rmu      sync.Mutex
	paused   []pauseCall
	approved []int64
	rejected []int64
	reasons  []string
	metaRuns int

	// approveGate, when set, holds Approve until closed (the spinner
	// shows meanwhile); onApprove runs inside Approve, after the gate, to
	// publish the engine's outcome; approveErr is what Approve returns.
	approveGate chan struct{}
	onApprove   func(id int64)
	approveErr  error
	pauseErr    error
}

type pauseCall struct {
	dag    string
	index  int
	paused bool
}

// newRecordingModel is newModel over a recording engine.
func newRecordingModel(t testing.TB, snap *api.Snapshot) (*Model, *recordingEngine) {
	t.Helper()
	r := &recordingEngine{fakeEngine: newFakeEngine(snap)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(ctx, r, Options{Styles: styles.New(nil), Clock: viewtest.Clock, ClockInterval: -1})
	t.Cleanup(m.Close)
	return m, r
}

// startRecording is start over a recording engine.
func startRecording(t *testing.T, snap *api.Snapshot, width, height int) (*console, *recordingEngine) {
	t.Helper()
	m, r := newRecordingModel(t, snap)
	return startModel(t, m, r.fakeEngine, width, height), r
}

func (s *recordingEngine) ExcludeFromReview(context.Context, int64, string, api.Exclusion) error {
	return nil
}

func (r *recordingEngine) PauseSensor(_ context.Context, dag string, index int, paused bool) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if r.pauseErr != nil {
		return r.pauseErr
	}
	r.paused = append(r.paused, pauseCall{dag, index, paused})
	return nil
}

func (r *recordingEngine) Approve(ctx context.Context, id int64) error {
	r.rmu.Lock()
	r.approved = append(r.approved, id)
	gate, after, err := r.approveGate, r.onApprove, r.approveErr
	r.rmu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if after != nil {
		after(id)
	}
	return err
}

func (r *recordingEngine) Reject(_ context.Context, id int64, reason string) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.rejected = append(r.rejected, id)
	r.reasons = append(r.reasons, reason)
	return nil
}

func (r *recordingEngine) RunMeta(context.Context) error {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	r.metaRuns++
	return nil
}

// recorded returns copies of every call so far.
func (r *recordingEngine) recorded() (paused []pauseCall, approved, rejected []int64, metaRuns int) {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	return append([]pauseCall(nil), r.paused...), append([]int64(nil), r.approved...), append([]int64(nil), r.rejected...), r.metaRuns
}

var _ api.API = (*recordingEngine)(nil)
