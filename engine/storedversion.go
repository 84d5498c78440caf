package engine

import (
	"context"

	"github.com/sluice-dev/sluice/engine/dag"
)

// StoredVersion implements runner.StoredDAGs: a version as the store keeps
// it, parsed by the loader's parser for the source it was read from,
// whatever the DAG's file says now (or when it is missing: a queued run
// runs the version it was queued with).
func (v *versionedSource) StoredVersion(ctx context.Context, name string, version int) (*dag.DAG, error) {
	v.mu.RLock()
	if p, ok := v.pins[name]; ok && p.def != nil && p.pin.Version == version {
		v.mu.RUnlock()
		return p.def, nil
	}
	if c, ok := v.cur[name]; ok && c.version == version {
		v.mu.RUnlock()
		return c.def, nil
	}
	if d, ok := v.old[versionKey{name, version}]; ok {
		v.mu.RUnlock()
		return d, nil
	}
	v.mu.RUnlock()
	def, err := v.parseStored(ctx, name, version)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.old[versionKey{name, version}] = def
	v.mu.Unlock()
	return def, nil
}

// Disabled tells the runner a DAG switched off from one whose file went
// missing, when the wrapped source knows (the loader does).
func (v *versionedSource) Disabled(name string) bool {
	d, ok := v.dagSource.(interface{ Disabled(string) bool })
	return ok && d.Disabled(name)
}
