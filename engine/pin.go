package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/store"
)

// DAGVersions implements API: the versions with their sources made safe
// for a terminal.
func (e *Engine) DAGVersions(ctx context.Context, name string) ([]api.DAGVersion, error) {
	vs, err := e.DAGVersionRecords(ctx, name)
	return api.SanitizedVersions(vs), err
}

// DAGVersionRecords is DAGVersions as stored, nothing escaped: for output
// that escapes in its own syntax (sluice dags versions --json), never for
// a terminal.
func (e *Engine) DAGVersionRecords(ctx context.Context, name string) ([]api.DAGVersion, error) {
	st, err := e.openStore(ctx, false)
	if errors.Is(err, ErrNoState) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	vs, err := st.DAGVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	pins, err := st.PinnedDAGs(ctx)
	if err != nil {
		return nil, err
	}
	current := e.fileVersion(ctx, name, vs)
	for i := range vs {
		vs[i].Current = vs[i].Version == current
		vs[i].Pinned = pins[name].Version == vs[i].Version
	}
	return vs, nil
}

// fileVersion is the version the DAG's file holds: what the running engine
// loaded, or offline the most recently seen.
func (e *Engine) fileVersion(_ context.Context, name string, vs []api.DAGVersion) int {
	if e.off == nil {
		for _, d := range e.dags.DAGs() {
			if d.Name == name && d.Version != 0 {
				return d.Version
			}
		}
	}
	best := 0
	var seen time.Time
	for _, v := range vs {
		if v.LastSeen.After(seen) {
			best, seen = v.Version, v.LastSeen
		}
	}
	return best
}

// DAGVersionDiff implements API.
func (e *Engine) DAGVersionDiff(ctx context.Context, name string, v1, v2 int) (string, error) {
	st, err := e.openStore(ctx, false)
	if err != nil {
		return "", err
	}
	a, err := st.DAGVersion(ctx, name, v1)
	if err != nil {
		return "", err
	}
	b, err := st.DAGVersion(ctx, name, v2)
	if err != nil {
		return "", err
	}
	// The diff is the files' content: made safe for a terminal, like every
	// string the engine hands out, its labels (file names) one line each.
	d := udiff.Unified(versionLabel(a), versionLabel(b), string(a.Content), string(b.Content))
	return api.SanitizedDiff(d), nil
}

func versionLabel(v api.DAGVersion) string {
	return text.Line(v.Source) + " v" + strconv.Itoa(v.Version)
}

// PinDAG implements API.
func (e *Engine) PinDAG(ctx context.Context, name string, version int) error {
	_, err := e.PinDAGChanged(ctx, name, version)
	return err
}

// PinDAGChanged is PinDAG that also reports whether anything changed:
// false when the DAG was pinned to that version already.
func (e *Engine) PinDAGChanged(ctx context.Context, name string, version int) (bool, error) {
	changed, err := e.pin(ctx, name, version)
	result := ""
	if err == nil && !changed {
		result = auditUnchanged + ": already pinned to v" + strconv.Itoa(version)
	}
	e.audit(ctx, "pin", "dag "+name, "v"+strconv.Itoa(version), result, err)
	return changed, err
}

// UnpinDAG implements API.
func (e *Engine) UnpinDAG(ctx context.Context, name string) error {
	_, err := e.UnpinDAGChanged(ctx, name)
	return err
}

// UnpinDAGChanged is UnpinDAG that also reports whether anything changed:
// false when the DAG was not pinned.
func (e *Engine) UnpinDAGChanged(ctx context.Context, name string) (bool, error) {
	changed, err := e.pin(ctx, name, 0)
	result := ""
	if err == nil && !changed {
		result = auditUnchanged + ": not pinned"
	}
	e.audit(ctx, "unpin", "dag "+name, "", result, err)
	return changed, err
}

// pin pins name to version, or unpins it for 0.
func (e *Engine) pin(ctx context.Context, name string, version int) (bool, error) {
	if name == "" {
		return false, errors.New("pinning: name the DAG")
	}
	st, err := e.openStore(ctx, false)
	if err != nil {
		return false, err
	}
	var changed bool
	if version == 0 {
		changed, err = st.UnpinDAG(ctx, name)
	} else {
		changed, err = st.PinDAG(ctx, name, api.DAGPin{Version: version, By: actorOf(ctx), At: e.now()})
	}
	if err != nil {
		return false, err
	}
	if e.off == nil {
		e.refreshPins(ctx)
	}
	return changed, nil
}

// storedVersion is the version a run queued from outside the engine (the
// CLI) will run: the pinned one, else the one the engine last loaded (0
// when none is stored yet).
func (e *Engine) storedVersion(ctx context.Context, st store.Interface, name string) (int, error) {
	pins, err := st.PinnedDAGs(ctx)
	if err != nil {
		return 0, err
	}
	if p, ok := pins[name]; ok {
		return p.Version, nil
	}
	vs, err := st.DAGVersions(ctx, name)
	if err != nil {
		return 0, err
	}
	return e.fileVersion(ctx, name, vs), nil
}
