package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/engine/dag"
	"github.com/sluice-dev/sluice/engine/store"
)

// KindFunc runs one attempt of a task. It returns nil on success; the
// error's message becomes the attempt's error. It must return promptly once
// ctx is done (timeout or cancellation), having stopped what it started.
type KindFunc func(ctx context.Context, t *TaskRun) error

// Kinds maps task kinds (a node's type) to the functions that run them. It
// is safe for concurrent use: components may register kinds while runs run.
type Kinds struct {
	mu     sync.RWMutex
	exact  map[string]KindFunc
	prefix map[string]KindFunc // "sluice.meta." from "sluice.meta.*"
}

// NewKinds returns an empty registry.
func NewKinds() *Kinds {
	return &Kinds{exact: map[string]KindFunc{}, prefix: map[string]KindFunc{}}
}

// Register binds a kind to fn, replacing any earlier binding. A kind ending
// in ".*" ("sluice.meta.*") covers every kind with that prefix that has no
// exact binding; the longest prefix wins.
func (k *Kinds) Register(kind string, fn KindFunc) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := strings.CutSuffix(kind, "*"); ok {
		k.prefix[p] = fn
		return
	}
	k.exact[kind] = fn
}

// Lookup finds the function for a kind.
func (k *Kinds) Lookup(kind string) (KindFunc, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if fn, ok := k.exact[kind]; ok {
		return fn, true
	}
	best, found := "", KindFunc(nil)
	for p, fn := range k.prefix {
		if strings.HasPrefix(kind, p) && len(p) >= len(best) {
			best, found = p, fn
		}
	}
	return found, found != nil
}

// TaskRun is one attempt of one task as a KindFunc sees it.
type TaskRun struct {
	RunID   int64
	DAG     string
	Node    *dag.Node
	Attempt int // 1-based
	// Config is the run config JSON ("{}" when the run has none).
	Config json.RawMessage
	Logger *slog.Logger
	// KillGrace is how long a process gets between SIGTERM and SIGKILL.
	KillGrace time.Duration
	// extraEnv is the engine's TaskEnv, before the SLUICE_ variables.
	extraEnv []string

	files   *runFiles
	logPath string
	logFile *os.File
	// procs records the attempt's process group (nil: not recorded);
	// recorded says one is, for the runner to forget once the attempt ends.
	procs    store.Interface
	recorded bool
}

// RecordProcess commits the process group a kind started (pgid is its
// leader's pid), so that a restart after the engine was killed can stop it
// before re-running the task. Call it right after the start; a kind that
// cannot record should stop the group and fail. The runner forgets the
// group when the attempt returns: the kind must have waited for its leader.
func (t *TaskRun) RecordProcess(pgid int) error {
	if t.procs == nil {
		return nil
	}
	ticks, alive, err := processStart(pgid)
	if err != nil {
		return fmt.Errorf("reading start time of process %d: %w", pgid, err)
	}
	if !alive {
		// Already gone: nothing a restart could stop.
		return nil
	}
	if err := t.procs.RecordProcess(persistCtx, store.TaskProcess{
		RunID: t.RunID, Task: t.Node.ID, Attempt: t.Attempt, PGID: pgid, StartTicks: ticks,
	}); err != nil {
		return err
	}
	t.recorded = true
	return nil
}

// forgetProcess clears the recorded process group of an ended attempt.
func (t *TaskRun) forgetProcess() {
	if !t.recorded {
		return
	}
	if err := t.procs.ClearProcess(persistCtx, t.RunID, t.Node.ID, t.Attempt); err != nil {
		t.Logger.Error("clearing task process group", "err", err)
	}
	t.recorded = false
}

// Env is what every task process gets on top of its own environment: the
// engine's TaskEnv, then SLUICE_RUN_ID, SLUICE_DAG, SLUICE_TASK, SLUICE_ATTEMPT, SLUICE_RUN_CONFIG
// (a file holding the run config JSON) and, for a run carrying a Kafka
// batch, SLUICE_BATCH_FILE (the messages, JSON lines).
func (t *TaskRun) Env() ([]string, error) {
	cfg, err := t.ConfigFile()
	if err != nil {
		return nil, err
	}
	env := append(slices.Clone(t.extraEnv),
		"SLUICE_RUN_ID="+strconv.FormatInt(t.RunID, 10),
		"SLUICE_DAG="+t.DAG,
		"SLUICE_TASK="+t.Node.ID,
		"SLUICE_ATTEMPT="+strconv.Itoa(t.Attempt),
		"SLUICE_RUN_CONFIG="+cfg,
	)
	batch, err := t.BatchFile()
	if err != nil {
		return nil, err
	}
	if batch != "" {
		env = append(env, "SLUICE_BATCH_FILE="+batch)
	}
	return env, nil
}

// ConfigFile writes the run config to the run's directory once and returns
// its path.
func (t *TaskRun) ConfigFile() (string, error) { return t.files.config() }

// BatchFile writes the run's batch messages once and returns the path, or
// "" when the run carries no batch.
func (t *TaskRun) BatchFile() (string, error) { return t.files.batch() }

// BatchMessages returns the messages (JSON lines) of the Kafka batch the
// run carries, nil when it carries none: for built-in kinds that consume a
// batch without going through the file.
func (t *TaskRun) BatchMessages(ctx context.Context) ([]byte, error) {
	if t.files.batchFn == nil {
		return nil, nil
	}
	return t.files.batchFn(ctx)
}

// Log opens (once) the attempt's log file, where a kind writes what the
// task printed. The file's tail goes to the store, the whole file stays on
// disk.
func (t *TaskRun) Log() (*os.File, error) {
	if t.logFile != nil {
		return t.logFile, nil
	}
	if err := t.files.mkdir(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(t.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening task log: %w", err)
	}
	t.logFile = f
	return f, nil
}

// Logf appends a line to the attempt's log.
func (t *TaskRun) Logf(format string, args ...any) {
	f, err := t.Log()
	if err != nil {
		t.Logger.Warn("task log unavailable", "err", err)
		return
	}
	fmt.Fprintf(f, format+"\n", args...)
}

// closeLog closes the log file and returns its tail ("" without a log).
func (t *TaskRun) closeLog() (path, tail string) {
	if t.logFile == nil {
		return "", ""
	}
	tail = readTail(t.logPath, logTailBytes)
	t.logFile.Close()
	t.logFile = nil
	return t.logPath, tail
}

// logTailBytes is how much of a task's output the store keeps.
const logTailBytes = 4 << 10

// readTail returns up to n bytes from the end of a file, starting at a line
// boundary when one is in reach.
func readTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	if off > 0 {
		if i := strings.IndexByte(string(buf), '\n'); i >= 0 && i < len(buf)-1 {
			buf = buf[i+1:]
		}
	}
	return strings.ToValidUTF8(string(buf), "\uFFFD")
}

// runFiles are the files of one run under the state dir, written only when
// a task asks for them so that runs of built-in kinds touch no disk.
type runFiles struct {
	dir     string
	cfg     json.RawMessage
	batchFn func(ctx context.Context) ([]byte, error) // nil: no batch

	mu       sync.Mutex
	made     bool
	cfgPath  string
	batchPth string
}

func (f *runFiles) mkdir() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mkdirLocked()
}

func (f *runFiles) mkdirLocked() error {
	if f.made {
		return nil
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("creating run dir: %w", err)
	}
	f.made = true
	return nil
}

func (f *runFiles) config() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfgPath != "" {
		return f.cfgPath, nil
	}
	if err := f.mkdirLocked(); err != nil {
		return "", err
	}
	p := filepath.Join(f.dir, "config.json")
	if err := writeFileAtomic(p, f.cfg); err != nil {
		return "", fmt.Errorf("writing run config: %w", err)
	}
	f.cfgPath = p
	return p, nil
}

// prepare writes the run's config and batch files now, for a run whose
// tasks will read them.
func (f *runFiles) prepare() error {
	if _, err := f.config(); err != nil {
		return err
	}
	_, err := f.batch()
	return err
}

func (f *runFiles) batch() (string, error) {
	if f.batchFn == nil {
		return "", nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batchPth != "" {
		return f.batchPth, nil
	}
	if err := f.mkdirLocked(); err != nil {
		return "", err
	}
	msgs, err := f.batchFn(context.Background())
	if err != nil {
		return "", err
	}
	p := filepath.Join(f.dir, "batch.jsonl")
	if err := writeFileAtomic(p, msgs); err != nil {
		return "", fmt.Errorf("writing batch file: %w", err)
	}
	f.batchPth = p
	return p, nil
}

// writeFileAtomic writes via a temporary file so a task never reads half a
// file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// errNoTask is returned for a node whose config was never validated into a
// typed task.
var errNoTask = errors.New("task config not validated")
