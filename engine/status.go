package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/api/text"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/engine/store"
	"github.com/sluice-dev/sluice/engine/store/storeopen"
)

// Status reports the engine's health: sources, DAG counts, queue,
// sensors, store. A running engine answers from its own state; an offline
// one scans the DAG sources once (the git source fetches into the state
// dir's mirror) and reads the store, beside an engine that may be running.
// Problems says why the status is unhealthy; an error means no status.
func (e *Engine) Status(ctx context.Context) (api.Status, error) {
	s := api.Status{At: e.now(), StateDir: e.cfg.StateDir, DAGs: map[api.DAGStatus]int{}}
	s.Queue.MaxConcurrentRuns = e.cfg.MaxConcurrentRuns
	for _, tl := range e.cfg.TagLimits {
		if s.Queue.TagLimits == nil {
			s.Queue.TagLimits = map[string]int{}
		}
		s.Queue.TagLimits[tl.Key+"="+tl.Value] = tl.Limit
	}
	s.Store = e.storeStatus(ctx)

	var dags []api.DAG
	var sources []api.Source
	if e.off == nil {
		snap := e.Snapshot()
		s.Engine = api.StatusEngine{Running: true, PID: os.Getpid()}
		dags, sources = snap.DAGs, snap.Sources
		s.Queue.Queued, s.Queue.Running = len(snap.Runs.Queued), len(snap.Runs.Running)
		for _, sn := range snap.Sensors {
			ss := withReading(api.StatusSensor{DAG: sn.DAG, Index: sn.Index, Topics: sn.Topics}, lagReading(sn, "", s.At))
			if len(sn.Ticks) > 0 {
				ss.LastTick = sn.Ticks[0].Start
			}
			s.Sensors = append(s.Sensors, ss)
		}
	} else {
		s.Engine.Offline = true
		if storeopen.Shared(e.cfg.Store) {
			s.Engine.Running, s.Engine.Instances = e.liveInstances(ctx, &s.Store)
		} else if pid, held, err := store.LockHolder(e.cfg.StateDir); err == nil {
			s.Engine.Running, s.Engine.PID = held, pid
		}
		listing, err := e.ListDAGs(ctx)
		if err != nil && !errors.Is(err, loader.ErrSourceFailed) {
			return s, err
		}
		dags, sources = listing.DAGs, listing.Sources
		e.offlineQueueAndSensors(ctx, &s, dags)
	}
	for _, src := range sources {
		s.Sources = append(s.Sources, api.StatusSource{
			Kind: src.Name, Location: text.Line(src.Location), OK: src.OK, Error: text.Line(src.Error), LastScan: src.LastScan,
			DurationMS: src.ScanDuration.Milliseconds(), Files: src.Files, Commit: src.Commit,
		})
	}
	for i, d := range dags {
		s.DAGs[d.Status]++
		dags[i].Name = text.Line(d.Name) // problems quote names
	}
	e.notificationStatus(ctx, &s)
	s.Problems = problems(s, dags)
	return s, nil
}

// offlineQueueAndSensors fills the queue and the sensors from the store.
// A state dir where nothing ever ran has neither.
func (e *Engine) offlineQueueAndSensors(ctx context.Context, s *api.Status, dags []api.DAG) {
	if !s.Store.Exists {
		for _, d := range dags {
			s.Sensors = append(s.Sensors, sensorsOf(d)...)
		}
		return
	}
	st, err := e.openStore(ctx, false)
	if err != nil {
		s.Store.Error = err.Error()
		return
	}
	if n, err := st.QueuedCount(ctx, ""); err == nil {
		s.Queue.Queued = n
	} else {
		s.Store.Error = fmt.Sprintf("counting queued runs: %v", err)
	}
	if runs, err := st.ListRuns(ctx, store.ListOptions{States: []api.RunState{api.RunRunning}}); err == nil {
		s.Queue.Running = len(runs)
	} else {
		s.Store.Error = fmt.Sprintf("listing running runs: %v", err)
	}
	readings := map[sensorKey]store.SensorLag{}
	if ls, err := st.SensorLags(ctx); err == nil {
		for _, l := range ls {
			readings[sensorKey{l.DAG, l.Sensor}] = l
		}
	} else {
		s.Store.Error = err.Error()
	}
	for _, d := range dags {
		for _, ss := range sensorsOf(d) {
			if ticks, err := st.RecentTicks(ctx, ss.DAG, ss.Index, 1); err == nil && len(ticks) > 0 {
				ss.LastTick, ss.Error = ticks[0].Start, ticks[0].Error
				if ticks[0].Error != "" {
					ss.Status = api.SensorError
				}
			}
			if l, ok := readings[sensorKey{ss.DAG, ss.Index}]; ok {
				ss = recordedSensor(ss, l, s.Engine.Running, s.At)
			}
			s.Sensors = append(s.Sensors, ss)
		}
	}
}

// recordedSensor shows a sensor as the engine running it recorded it. A
// stale reading — older than lagReadingStaleAfter, or with no engine
// running — keeps its lag, marked stale, but not its sensor status: the
// last tick says more about a sensor nobody runs.
func recordedSensor(ss api.StatusSensor, l store.SensorLag, running bool, now time.Time) api.StatusSensor {
	if running && now.Sub(l.At) <= lagReadingStaleAfter {
		return withReading(ss, l)
	}
	status, errMsg := ss.Status, ss.Error
	ss = withReading(ss, l)
	ss.Status, ss.Error, ss.LagStale = status, errMsg, true
	return ss
}

// sensorsOf lists the sensors of an active DAG's definition, lag unknown
// until a reading says it.
func sensorsOf(d api.DAG) []api.StatusSensor {
	if d.Def == nil || d.Status != api.DAGActive {
		return nil
	}
	var out []api.StatusSensor
	for i, sp := range d.Def.Sensors {
		out = append(out, api.StatusSensor{DAG: d.Name, Index: i, Topics: sp.Topics, Lag: -1})
	}
	return out
}

// storeStatus describes the store: the state dir's SQLite database (WAL
// included), or the PostgreSQL database the instances share, opened to
// say whether it answers and how big it is.
func (e *Engine) storeStatus(ctx context.Context) api.StatusStore {
	if !storeopen.Shared(e.cfg.Store) {
		return sqliteStatus(e.cfg.StateDir)
	}
	out := api.StatusStore{Kind: storeopen.Postgres, Location: store.Redact(e.cfg.Store)}
	st, err := e.openStore(ctx, false)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Exists = true
	if sized, ok := st.(interface {
		Size(context.Context) (int64, error)
	}); ok {
		if out.SizeBytes, err = sized.Size(ctx); err != nil {
			out.Error = err.Error()
		}
	}
	return out
}

// liveInstances counts the instances whose heartbeat in the shared store
// is within the lease.
func (e *Engine) liveInstances(ctx context.Context, ss *api.StatusStore) (bool, int) {
	if !ss.Exists {
		return false, 0
	}
	ins, err := e.Instances(ctx)
	if err != nil {
		ss.Error = fmt.Sprintf("listing instances: %v", err)
		return false, 0
	}
	lease := e.cfg.Lease
	if lease <= 0 {
		lease = 30 * time.Second // the runner's default
	}
	live, now := 0, e.now()
	for _, in := range ins {
		if in.Status(now, lease) == store.InstanceLive {
			live++
		}
	}
	return live > 0, live
}

// sqliteStatus describes the state dir's SQLite database, WAL included.
func sqliteStatus(dir string) api.StatusStore {
	db := filepath.Join(dir, store.DBFile)
	out := api.StatusStore{Kind: storeopen.SQLite, Location: db}
	fi, err := os.Stat(db)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return out
	case err != nil:
		out.Error = err.Error()
		return out
	}
	out.Exists, out.SizeBytes = true, fi.Size()
	for _, suffix := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(db + suffix); err == nil {
			out.SizeBytes += fi.Size()
		}
	}
	return out
}

// problems are the reasons a status is unhealthy, most pressing first.
func problems(s api.Status, dags []api.DAG) []string {
	var out []string
	if s.Store.Error != "" {
		out = append(out, "store: "+s.Store.Error)
	}
	for _, src := range s.Sources {
		if !src.OK {
			out = append(out, fmt.Sprintf("source %s (%s) failed: %s", src.Kind, src.Location, src.Error))
		}
	}
	for _, st := range []api.DAGStatus{api.DAGInvalid, api.DAGConflict} {
		var names []string
		for _, d := range dags {
			if d.Status == st {
				names = append(names, d.Name)
			}
		}
		if len(names) > 0 {
			out = append(out, fmt.Sprintf("%d DAG(s) %s: %s", len(names), st, listSome(names, 5)))
		}
	}
	for _, ss := range s.Sensors {
		if p := sensorProblem(ss, s.Engine.Running, s.At); p != "" {
			out = append(out, p)
		}
	}
	out = append(out, notificationProblems(s.Notifications)...)
	return out
}

func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// sensorProblem says what is wrong with a sensor, if anything. A stale
// reading is not trusted as OK: an ERR it last recorded stays a problem
// (nobody has seen it recover), and one the running engine stopped
// refreshing is a problem of its own.
func sensorProblem(ss api.StatusSensor, running bool, now time.Time) string {
	name := fmt.Sprintf("sensor %s[%d]", ss.DAG, ss.Index)
	stale := ""
	if ss.LagStale {
		stale = fmt.Sprintf(" (stale: read %s ago)", now.Sub(ss.LagAt).Round(time.Second))
	}
	switch {
	case ss.Status == api.SensorError:
		return fmt.Sprintf("%s: error: %s", name, ss.Error)
	case ss.LagStatus == api.LagErr || ss.LagStatus == api.LagStall || ss.LagStatus == api.LagStop:
		p := fmt.Sprintf("%s: consumer lag %s (%d)", name, ss.LagStatus, ss.Lag)
		if ss.LagReason != "" {
			p += ": " + text.Line(ss.LagReason)
		}
		return p + stale
	case ss.LagStale && running:
		return fmt.Sprintf("%s: lag reading not refreshed by the running engine%s", name, stale)
	}
	return ""
}
