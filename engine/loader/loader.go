// Package loader finds DAG files in sources (a local folder, an S3 bucket,
// a git repository),
// detects changes without rereading, and keeps the registry of loaded DAGs.
//
// A scan lists a source (metadata only), reads the files whose version
// changed, hashes them (SHA-256) and parses only those whose bytes changed.
// A file that fails keeps its last good version active; a deleted file
// disables its DAG; a source that cannot be listed changes nothing.
package loader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/clock"
	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// ErrSourceFailed wraps the error of a source whose scan failed; ScanNow
// returns it (joined, one per source) alongside a complete ScanResult.
var ErrSourceFailed = errors.New("dag source failed")

// ErrSourceTimeout marks a source that did not answer in time (a request
// past its timeout, a scan past its deadline). The error is a
// *TimeoutError.
var ErrSourceTimeout = errors.New("dag source timed out")

// TimeoutError is a source that did not answer in time: one S3 request
// (retries included) past the request timeout, or a whole scan past the
// scan deadline. It matches ErrSourceTimeout.
type TimeoutError struct {
	Op       string        // what was cut: "listing s3://dags/team/", "the scan of …"
	Endpoint string        // where the requests went ("" when not known)
	Scan     bool          // the scan deadline ran out; else the request timeout
	Limit    time.Duration // the timeout or deadline that ran out
	Waited   time.Duration // how long the source was waited for, measured
	Err      error         // what the cut request returned
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": no answer")
	if e.Endpoint != "" {
		b.WriteString(" from " + e.Endpoint)
	}
	if e.Scan {
		fmt.Fprintf(&b, " within the scan deadline (%s)", e.Limit)
	} else {
		fmt.Fprintf(&b, " within the S3 request timeout (%s, retries included)", e.Limit)
	}
	fmt.Fprintf(&b, "; gave up after %s", e.Waited.Round(time.Millisecond))
	return b.String()
}

// Is makes a TimeoutError match ErrSourceTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrSourceTimeout }

func (e *TimeoutError) Unwrap() error { return e.Err }

// Debounce of file-system events: a scan starts once events have been quiet
// for debounceQuiet, and at the latest debounceMax after the first one, so
// an editor's burst of writes costs one scan and an edit is active well
// within a second.
const (
	debounceQuiet = 50 * time.Millisecond
	debounceMax   = 250 * time.Millisecond
)

// Loader owns the sources and the registry.
type Loader struct {
	cfg     Config
	log     *slog.Logger
	opts    dag.Options
	sources []*sourceState
	changes chan struct{}
	scans   chan struct{} // a periodic scan finished, changed or not

	mu  sync.RWMutex // guards reg, view, scheds, pending and every sourceState.health
	reg *registry
	// pending are the Starlark files handed to background evaluation, with
	// the version being evaluated: a result is applied only if no scan
	// has dealt with the file since.
	pending   map[fileRef]string
	evalSlots chan struct{} // bounds background evaluations
	view      []api.DAG
	scheds    []*dag.DAG // per view entry: the definition that fires, or nil

	life lifecycle.Lifecycle
}

type sourceState struct {
	src    Source
	scanMu sync.Mutex // one scan of a source at a time
	health api.Source
}

// watchable is a source that can raise events between periodic scans.
type watchable interface {
	startWatching() error
	// watch relays events until ctx ends, then stops watching.
	watch(ctx context.Context, changed func(), onError func(error))
	stopWatching()
}

// New prepares a loader; Start begins watching. Sources are the local folder
// (cfg.Dir) and the S3 bucket (cfg.S3Bucket), each when configured; with
// cfg.Enabled false there are none.
func New(cfg Config, log *slog.Logger) (*Loader, error) {
	var sources []Source
	if cfg.Enabled {
		if cfg.Dir != "" {
			sources = append(sources, NewLocalSource(cfg.Dir))
		}
		if cfg.S3Bucket != "" {
			if log == nil {
				log = slog.New(slog.NewTextHandler(io.Discard, nil))
			}
			sources = append(sources, NewS3Source(cfg, log.With("source", SourceS3)))
		}
		if cfg.GitURL != "" {
			sources = append(sources, NewGitSource(cfg, log))
		}
	}
	return NewWithSources(cfg, log, sources...)
}

// NewWithSources is New with explicit sources, in priority order: when two
// files claim a name at the same scan, the earlier source's file holds it.
func NewWithSources(cfg Config, log *slog.Logger, sources ...Source) (*Loader, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = DefaultScanInterval
	}
	env := cfg.Env
	if env == nil {
		env = os.LookupEnv
	}
	l := &Loader{
		cfg:     cfg,
		log:     log,
		opts:    dag.Options{Env: env, EnvAllow: cfg.EnvAllow},
		changes: make(chan struct{}, 1),
		scans:   make(chan struct{}, 1),
		reg:     newRegistry(),
		pending: make(map[fileRef]string),
		// Starlark evaluation is CPU-bound: one at a time per CPU.
		evalSlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
	seen := make(map[string]bool)
	for _, src := range sources {
		if seen[src.Name()] {
			return nil, fmt.Errorf("loader: two sources named %q", src.Name())
		}
		seen[src.Name()] = true
		l.sources = append(l.sources, &sourceState{
			src:    src,
			health: api.Source{Name: src.Name(), Location: src.Location()},
		})
	}
	return l, nil
}

// Start performs the initial scan of every source and begins watching: file
// notifications for the local folder, and a periodic scan of everything.
// Source failures are reported in Sources, not returned; Start fails only if
// the loader was already started (lifecycle.ErrStarted, ErrStopped) or ctx
// ends during the initial scan.
func (l *Loader) Start(ctx context.Context) error {
	return l.life.Start(ctx, l.start)
}

func (l *Loader) start(ctx context.Context) error {
	if !l.cfg.Enabled {
		l.log.Info("dag loading disabled")
	}
	var watched []*sourceState
	for _, st := range l.sources {
		w, ok := st.src.(watchable)
		if !ok {
			continue
		}
		if err := w.startWatching(); err != nil {
			l.log.Warn("file notifications unavailable; relying on the periodic scan",
				"source", st.src.Name(), "location", st.src.Location(), "err", err)
			continue
		}
		watched = append(watched, st)
	}
	if err := l.initialScan(ctx); err != nil && ctx.Err() != nil {
		for _, st := range watched {
			st.src.(watchable).stopWatching()
		}
		return fmt.Errorf("initial scan: %w", ctx.Err())
	}

	for _, st := range watched {
		kicks := make(chan struct{}, 1)
		w := st.src.(watchable)
		l.life.Go(func() {
			w.watch(ctx, func() {
				select {
				case kicks <- struct{}{}:
				default:
				}
			}, func(err error) {
				l.log.Warn("file notifications", "source", st.src.Name(), "err", err)
			})
		})
		l.life.Go(func() { l.debounce(ctx, st, kicks) })
	}
	if len(l.sources) > 0 {
		l.life.Every(ctx, l.cfg.ScanInterval, l.periodic)
	}
	return nil
}

// Stop ends watching and waits for the loader's goroutines. A scan in
// progress is cancelled and changes nothing.
func (l *Loader) Stop() { l.life.Stop(nil) }

// periodic is one scan of the interval: failures are in the sources'
// health.
func (l *Loader) periodic(ctx context.Context) {
	_, _ = l.scan(ctx, l.sources, true)
	select {
	case l.scans <- struct{}{}:
	default: // coalesced
	}
}

func (l *Loader) debounce(ctx context.Context, st *sourceState, kicks <-chan struct{}) {
	timer := time.NewTimer(0)
	if !timer.Stop() {
		<-timer.C
	}
	defer timer.Stop()
	var first time.Time // of the pending burst; zero when none
	for {
		select {
		case <-ctx.Done():
			return
		case <-kicks:
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			wait := min(debounceQuiet, first.Add(debounceMax).Sub(now))
			timer.Stop()
			timer.Reset(max(wait, 0))
		case <-timer.C:
			first = time.Time{}
			st.scanMu.Lock()
			out, err := l.prepare(ctx, st, true)
			if ctx.Err() == nil {
				l.commit([]*sourceState{st}, []scanOutcome{out}, []error{err})
				l.evaluateLater(ctx, st, out.deferred)
			}
			st.scanMu.Unlock()
		}
	}
}

// ScanNow scans every source and returns when done. Sources are listed and
// read in parallel and applied in configuration order, each as soon as it
// and those before it are done: a slow source never holds back one
// configured before it. Sources that failed are counted in the result and
// returned as ErrSourceFailed errors.
func (l *Loader) ScanNow(ctx context.Context) (api.ScanResult, error) {
	return l.scan(ctx, l.sources, false)
}

// initialScan is Start's scan: the local sources before Start returns, the
// remote ones (S3, git) in the background, so an unreachable remote never delays
// startup. Starlark files are evaluated in the background either way.
func (l *Loader) initialScan(ctx context.Context) error {
	var local, remote []*sourceState
	for _, st := range l.sources {
		if st.src.Name() != SourceLocal {
			remote = append(remote, st)
		} else {
			local = append(local, st)
		}
	}
	if len(remote) > 0 {
		l.life.Go(func() {
			_, _ = l.scan(ctx, remote, true) // failures are in the sources' health
		})
	}
	_, err := l.scan(ctx, local, true)
	return err
}

// scan scans states (see ScanNow). With deferStar, Starlark files that
// need evaluating are handed to the background (the scan's ctx owns them)
// and appear when done; ScanNow evaluates them before it returns.
func (l *Loader) scan(ctx context.Context, states []*sourceState, deferStar bool) (api.ScanResult, error) {
	start := time.Now()
	res := api.ScanResult{Sources: len(states)}
	errs := make([]error, len(states))
	turns := make([]chan struct{}, len(states)+1)
	for i := range turns {
		turns[i] = make(chan struct{})
	}
	close(turns[0])
	var resMu sync.Mutex
	var changes []Change
	var wg sync.WaitGroup
	for i, st := range states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(turns[i+1])
			st.scanMu.Lock()
			defer st.scanMu.Unlock()
			out, err := l.prepare(ctx, st, deferStar)
			<-turns[i]
			if ctx.Err() != nil {
				return
			}
			changed, invalid, ch := l.commit([]*sourceState{st}, []scanOutcome{out}, []error{err})
			if err == nil {
				l.evaluateLater(ctx, st, out.deferred)
				err = out.stale
			}
			resMu.Lock()
			res.Changed += changed
			res.Invalid += invalid
			changes = append(changes, ch...)
			errs[i] = err
			resMu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.ChangedDAGs = changedNames(changes)
	var failed []error
	for i, err := range errs {
		if err != nil {
			res.Failed++
			failed = append(failed, fmt.Errorf("%w: %s (%s): %w", ErrSourceFailed,
				states[i].src.Name(), states[i].src.Location(), err))
		}
	}
	res.Duration = time.Since(start)
	return res, errors.Join(failed...)
}

// prepare lists a source and reads and parses what changed, without touching
// the registry, within the scan deadline. With deferStar, Starlark files to
// evaluate are listed in the outcome's deferred instead. The caller holds
// st.scanMu.
func (l *Loader) prepare(ctx context.Context, st *sourceState, deferStar bool) (scanOutcome, error) {
	start := time.Now()
	out := scanOutcome{source: st.src.Name(), start: l.now()}
	scanCtx, cancel := context.WithTimeout(ctx, l.cfg.scanTimeout())
	defer cancel()
	listing, err := st.src.List(scanCtx)
	if err != nil {
		out.duration = time.Since(start)
		return out, l.deadline(ctx, scanCtx, st.src, start, err)
	}
	out.incomplete, out.problems, out.commit, out.stale = listing.Incomplete, listing.Problems, listing.Commit, listing.Stale
	out.emptyFolders = listing.EmptyFolders
	out.results = make([]fileResult, len(listing.Objects))

	l.mu.RLock()
	known := l.reg.known(out.source)
	var pending map[string]string
	for ref, v := range l.pending {
		if ref.source == out.source {
			if pending == nil {
				pending = make(map[string]string)
			}
			pending[ref.key] = v
		}
	}
	l.mu.RUnlock()

	var todo []int
	for i, o := range listing.Objects {
		r := &out.results[i]
		r.obj = o
		k, ok := known[o.Key]
		switch {
		case o.Err != nil:
			r.retry, r.errs = true, []api.ErrorLine{{Msg: o.Err.Error()}}
		case ok && k.version != "" && k.version == o.Version:
			r.unchanged = true
		case deferStar && path.Ext(o.Key) == dag.ExtStarlark:
			r.pending = true
			if v, ok := pending[o.Key]; !ok || v != o.Version {
				out.deferred = append(out.deferred, o)
			}
		default:
			todo = append(todo, i)
		}
	}
	l.readAll(scanCtx, st.src, out.results, todo, known)
	out.duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if scanCtx.Err() != nil {
		return out, l.deadline(ctx, scanCtx, st.src, start, scanCtx.Err())
	}
	return out, nil
}

// deadline says so when a scan ran out of time, rather than the bare
// "context deadline exceeded" of whichever request was cut.
func (l *Loader) deadline(ctx, scanCtx context.Context, src Source, start time.Time, err error) error {
	if ctx.Err() == nil && errors.Is(scanCtx.Err(), context.DeadlineExceeded) {
		te := &TimeoutError{Op: "the scan of " + src.Location(), Scan: true,
			Limit: l.cfg.scanTimeout(), Waited: time.Since(start), Err: err}
		if e, ok := src.(interface{ endpoint() string }); ok {
			te.Endpoint = e.endpoint()
		}
		return te
	}
	return err
}

// readAll reads, hashes and parses the files at todo with a few workers:
// enough to overlap S3 round trips, at most the CPUs for local parsing.
func (l *Loader) readAll(ctx context.Context, src Source, results []fileResult, todo []int, known map[string]knownFile) {
	if len(todo) == 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if src.Name() == SourceS3 {
		workers = 16
	}
	workers = min(workers, len(todo))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				l.readOne(ctx, src, &results[i], known)
			}
		}()
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

func (l *Loader) readOne(ctx context.Context, src Source, r *fileResult, known map[string]knownFile) {
	data, err := src.Read(ctx, r.obj)
	if err != nil {
		r.retry, r.errs = true, []api.ErrorLine{{Msg: "reading: " + err.Error()}}
		return
	}
	h := sha256.Sum256(data)
	r.sum = hex.EncodeToString(h[:])
	if k, ok := known[r.obj.Key]; ok && k.ok && k.sum == r.sum {
		r.same = true
		return
	}
	d, err := dag.Parse(r.obj.Location, data, l.opts)
	if err != nil || d == nil {
		if err == nil {
			err = errors.New("parser returned no DAG")
		}
		r.errs = errorLines(dag.AsErrors(r.obj.Location, err))
		return
	}
	d.Name = dag.NameFromPath(r.obj.Key)
	r.def, r.raw = d, data
}

// commit applies prepared scans in order, updates health, logs each change
// and signals Changes once. It returns the files changed and the files
// invalid in the committed sources.
func (l *Loader) commit(states []*sourceState, outs []scanOutcome, errs []error) (changed, invalid int, all []Change) {
	now := l.now()
	type healthLog struct{ prev, cur api.Source }
	var healthLogs []healthLog
	l.mu.Lock()
	for i, st := range states {
		h := st.health
		h.LastScan, h.ScanDuration = outs[i].start, outs[i].duration
		if errs[i] == nil {
			errs[i] = l.reg.emptyOutage(outs[i])
		}
		if errs[i] == nil {
			l.reg.folderOutages(&outs[i])
		}
		if errs[i] != nil {
			h.OK, h.Error = false, errs[i].Error()
		} else {
			h.OK, h.Error, h.Files = true, problemText(outs[i].problems), len(outs[i].results)
			if outs[i].commit != nil {
				h.Commit = outs[i].commit
			}
			if outs[i].stale != nil {
				h.OK, h.Error = false, outs[i].stale.Error()
			}
			l.settlePending(outs[i])
			ch, n := l.reg.apply(outs[i], now)
			all = append(all, ch...)
			changed += n
			for _, r := range outs[i].results {
				if rec := l.reg.files[fileRef{outs[i].source, r.obj.Key}]; rec != nil && rec.errs != nil {
					invalid++
				}
			}
		}
		if h.OK != st.health.OK || h.Error != st.health.Error || h.Files != st.health.Files || h.Commit != st.health.Commit {
			healthLogs = append(healthLogs, healthLog{st.health, h})
		}
		st.health = h
	}
	if len(all) > 0 {
		l.view, l.scheds = l.reg.all()
	}
	l.mu.Unlock()

	for _, h := range healthLogs {
		l.logHealth(h.prev, h.cur)
	}
	for _, c := range all {
		l.logChange(c)
	}
	if len(all) > 0 || len(healthLogs) > 0 {
		l.notify()
	}
	return changed, invalid, all
}

// changedNames lists the DAG names of changes, sorted, each once.
func changedNames(changes []Change) []string {
	var names []string
	for _, c := range changes {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func problemText(problems []string) string {
	switch len(problems) {
	case 0:
		return ""
	case 1:
		return problems[0]
	}
	return fmt.Sprintf("%s (and %d more problems)", problems[0], len(problems)-1)
}

func (l *Loader) logHealth(prev, h api.Source) {
	attrs := []any{"source", h.Name, "location", h.Location, "files", h.Files}
	if h.Commit != nil {
		attrs = append(attrs, "commit", h.Commit.Short)
	}
	switch {
	case !h.OK:
		l.log.Error("dag source failed; its DAGs are kept as they were", append(attrs, "err", h.Error)...)
	case h.Error != "":
		l.log.Warn("dag source scanned with problems", append(attrs, "problems", h.Error)...)
	case !prev.OK && !prev.LastScan.IsZero():
		l.log.Info("dag source recovered", attrs...)
	case h.Commit != prev.Commit:
		l.log.Info("dag source at a new commit", append(attrs, "subject", h.Commit.Subject, "author", h.Commit.Author)...)
	}
}

func (l *Loader) logChange(c Change) {
	attrs := []any{"dag", c.Name, "file", c.Location, "source", c.Source, "status", c.Status}
	switch c.Kind {
	case ChangeInvalid:
		l.log.Warn("dag invalid", append(attrs, "err", c.Error)...)
	case ChangeConflict:
		l.log.Warn("dag name conflict: another file holds the name", attrs...)
	default:
		l.log.Info("dag "+c.Kind, attrs...)
	}
}

func (l *Loader) notify() {
	select {
	case l.changes <- struct{}{}:
	default: // a signal is already waiting: coalesced
	}
}

// now is the loader's clock's time.
func (l *Loader) now() time.Time { return clock.Or(l.cfg.Clock).Now() }

// DAGs returns the registry, sorted by name (for one name, the file holding
// it first). The slice and its error lines are the caller's; Def values are
// shared and immutable.
func (l *Loader) DAGs() []api.DAG {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]api.DAG, len(l.view))
	for i := range l.view {
		v := &l.view[i]
		if d := l.scheds[i]; d != nil && !v.NextFire.After(now) {
			v.NextFire = d.NextFire(now)
		}
		out[i] = *v
		out[i].Errors = append([]api.ErrorLine(nil), v.Errors...)
	}
	return out
}

// Sources returns each source's health, in configuration order.
func (l *Loader) Sources() []api.Source {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]api.Source, len(l.sources))
	for i, st := range l.sources {
		out[i] = st.health
	}
	return out
}

// Lookup returns the active definition of a DAG: the current one, or the
// last good one of an invalid file. Disabled and unknown DAGs are not found.
func (l *Loader) Lookup(name string) (*dag.DAG, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rec := l.reg.holder(name)
	if rec == nil || rec.good == nil || !rec.good.Enabled {
		return nil, false
	}
	return rec.good, true
}

// Content returns the bytes of a DAG's active definition (what Lookup
// parsed), the file they came from and their SHA-256.
func (l *Loader) Content(name string) (data []byte, location, sum string, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rec := l.reg.holder(name)
	if rec == nil || rec.good == nil || rec.goodRaw == nil {
		return nil, "", "", false
	}
	return rec.goodRaw, rec.location, rec.goodSum, true
}

// Parse parses a stored version of the DAG name (from location) as the
// loader parses files: same Starlark environment and limits.
func (l *Loader) Parse(name, location string, data []byte) (*dag.DAG, error) {
	d, err := dag.Parse(location, data, l.opts)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errors.New("parser returned no DAG")
	}
	d.Name = name
	return d, nil
}

// Changes signals (coalesced, never blocking the loader) that the registry
// or a source's health changed.
func (l *Loader) Changes() <-chan struct{} { return l.changes }

// Scans signals (coalesced) after each periodic scan, whether or not it
// changed anything: the sources' last-scan times moved, and a screen
// showing them should redraw.
func (l *Loader) Scans() <-chan struct{} { return l.scans }
