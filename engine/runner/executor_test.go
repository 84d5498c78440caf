package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/store"
)

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// shellDAG builds a DAG JSON of local tasks: id → shell command, with deps.
func shellDAG(tasks map[string]string, deps map[string][]string, extra string) string {
	var nodes []string
	for id, cmd := range tasks {
		nodes = append(nodes, fmt.Sprintf(`{"id": %s, "type": "local", "config": {"command": %s}, "depends_on": %s}`,
			js(id), js(cmd), js(append([]string{}, deps[id]...))))
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"nodes": [%s]%s}`, strings.Join(nodes, ","), extra)
}

func TestParallelFanOut(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	marks := t.TempDir()
	// Each child waits until all three have started: run one at a time,
	// the first would give up and fail.
	child := fmt.Sprintf(`touch %s/$SLUICE_TASK; i=0; while [ $(ls %s | wc -l) -lt 3 ]; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.02; done`, marks, marks)
	h.dags.add(t, "fan", shellDAG(map[string]string{"root": "true", "a": child, "b": child, "c": child, "join": "true"},
		map[string][]string{"a": {"root"}, "b": {"root"}, "c": {"root"}, "join": {"a", "b", "c"}}, ""))
	h.start()
	id := h.enqueue("fan", "")
	run, tasks := h.waitRun(id)
	if run.State != api.RunSuccess {
		t.Fatalf("run %s (%s); tasks %+v", run.State, run.Error, tasks)
	}
	for _, id := range []string{"root", "a", "b", "c", "join"} {
		if tasks[id].State != api.TaskSuccess {
			t.Fatalf("task %s = %+v", id, tasks[id])
		}
	}
	// join started only after all three ended.
	for _, id := range []string{"a", "b", "c"} {
		if tasks["join"].StartedAt.Before(tasks[id].FinishedAt) {
			t.Fatalf("join started before %s finished", id)
		}
	}
}

func TestTaskParallelismLimit(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.TaskParallelism = 1 })
	marks := t.TempDir()
	// With one task at a time, no task ever sees another one's mark.
	child := fmt.Sprintf(`touch %s/$SLUICE_TASK; sleep 0.1; n=$(ls %s | wc -l); rm %s/$SLUICE_TASK; [ $n -eq 1 ]`, marks, marks, marks)
	h.dags.add(t, "serial", shellDAG(map[string]string{"a": child, "b": child, "c": child}, nil, ""))
	h.start()
	run, tasks := h.waitRun(h.enqueue("serial", ""))
	if run.State != api.RunSuccess {
		t.Fatalf("run %s: %s; tasks %+v", run.State, run.Error, tasks)
	}
}

func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	// A zombie nobody reaped yet is dead too.
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] == "Z"
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The grandchild ignores nothing, but only a group kill reaches it: the
	// shell's death alone would leave it running.
	cmd := fmt.Sprintf(`sleep 60 & echo $! > %s; wait`, pidFile)
	h.dags.add(t, "slow", fmt.Sprintf(`{"nodes": [{"id": "hang", "type": "local", "config": {"command": %s, "timeout": "300ms"}}]}`, js(cmd)))
	h.start()
	start := time.Now()
	run, tasks := h.waitRun(h.enqueue("slow", ""))
	if run.State != api.RunFailed || tasks["hang"].State != api.TaskFailed || !strings.Contains(tasks["hang"].Error, "timed out after 300ms") {
		t.Fatalf("run %s %q, task %+v", run.State, run.Error, tasks["hang"])
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	h.waitFor("grandchild to die", func() bool { return processGone(pid) })
}

func TestRetriesThenSuccess(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.dags.add(t, "flaky", `{"nodes": [{"id": "s", "type": "sluice.sleep", "config": {"duration": "1ms", "fail_times": 2, "retry": 3, "retry_backoff": "10ms"}}]}`)
	h.start()
	id := h.enqueue("flaky", "")
	run, tasks := h.waitRun(id)
	if run.State != api.RunSuccess || tasks["s"].Attempt != 3 || tasks["s"].State != api.TaskSuccess {
		t.Fatalf("run %s, task %+v", run.State, tasks["s"])
	}
	all, _ := h.st.Attempts(context.Background(), id, "s")
	var states []string
	for _, a := range all {
		states = append(states, string(a.State))
	}
	if got := strings.Join(states, ","); got != "retrying,retrying,success" {
		t.Fatalf("attempts %s", got)
	}
	if !strings.Contains(all[0].Error, "fail_times") {
		t.Fatalf("first attempt error %q", all[0].Error)
	}
	// Backoff waited between attempts (10ms base, ±50% jitter).
	if gap := all[1].StartedAt.Sub(all[0].FinishedAt); gap < 4*time.Millisecond {
		t.Fatalf("no backoff between attempts: %s", gap)
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.dags.add(t, "doomed", `{"nodes": [{"id": "f", "type": "sluice.fail", "config": {"message": "disk on fire", "retry": 2, "retry_backoff": "1ms"}}]}`)
	h.start()
	id := h.enqueue("doomed", "")
	run, tasks := h.waitRun(id)
	if run.State != api.RunFailed || run.Error != "task f failed: disk on fire" {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
	if tasks["f"].Attempt != 3 || tasks["f"].State != api.TaskFailed || tasks["f"].Error != "disk on fire" {
		t.Fatalf("task %+v", tasks["f"])
	}
}

func TestUpstreamFailed(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.dags.add(t, "branches", shellDAG(
		map[string]string{"a": "exit 3", "b": "true", "c": "true", "d": "true", "e": "true"},
		map[string][]string{"b": {"a"}, "c": {"b"}, "e": {"d"}}, ""))
	h.start()
	id := h.enqueue("branches", "")
	run, tasks := h.waitRun(id)
	if run.State != api.RunFailed || run.Error != "task a failed: exit status 3" {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
	want := map[string]api.TaskState{"a": "failed", "b": "upstream_failed", "c": "upstream_failed", "d": "success", "e": "success"}
	for task, st := range want {
		if tasks[task].State != st {
			t.Errorf("task %s = %s, want %s", task, tasks[task].State, st)
		}
	}
	snap, _ := h.snapshotRun(id)
	if snap.Done != 5 || snap.Total != 5 || len(snap.Tasks) != 5 || snap.Tasks[0].ID != "a" {
		t.Fatalf("snapshot %+v", snap)
	}
}

func TestCancelMidRun(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	h.dags.add(t, "long", shellDAG(map[string]string{
		"work":  fmt.Sprintf("echo $$ > %s; exec sleep 60", pidFile),
		"after": "true",
	}, map[string][]string{"after": {"work"}}, ""))
	h.start()
	id := h.enqueue("long", "")
	h.waitFor("task to run", func() bool {
		_, err := os.Stat(pidFile)
		return h.taskState(id, "work") == api.TaskRunning && err == nil
	})
	if err := h.r.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	run, tasks := h.waitRun(id)
	if run.State != api.RunCancelled {
		t.Fatalf("run %s", run.State)
	}
	if tasks["work"].State != api.TaskCancelled || tasks["after"].State != api.TaskSkipped {
		t.Fatalf("tasks %+v", tasks)
	}
	data, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	h.waitFor("task process to die", func() bool { return processGone(pid) })
	if err := h.r.Cancel(context.Background(), id); !errors.Is(err, ErrRunFinished) {
		t.Fatalf("cancelling a finished run: %v", err)
	} else if n := strings.Count(err.Error(), "cancelling run"); n != 1 {
		t.Fatalf("the error names the operation %d times: %v", n, err)
	}
	if err := h.r.Cancel(context.Background(), 9999); !errors.Is(err, ErrRunNotFound) {
		t.Fatalf("cancelling an unknown run: %v", err)
	}
}

func TestCancelWhileWaitingToRetry(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	h.dags.add(t, "slowretry", `{"nodes": [{"id": "f", "type": "sluice.fail", "config": {"retry": 5, "retry_backoff": "1h"}}]}`)
	h.start()
	id := h.enqueue("slowretry", "")
	h.waitFor("first attempt to fail", func() bool { return h.taskState(id, "f") == api.TaskRetrying })
	if err := h.r.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	run, tasks := h.waitRun(id)
	if run.State != api.RunCancelled || tasks["f"].State != api.TaskCancelled || tasks["f"].Attempt != 1 {
		t.Fatalf("run %s, task %+v", run.State, tasks["f"])
	}
}

func TestEnvAndRunConfigDelivered(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	out := t.TempDir()
	workDir := t.TempDir()
	cmd := fmt.Sprintf(`env > %[1]s/env; cat "$SLUICE_RUN_CONFIG" > %[1]s/config; pwd > %[1]s/pwd`, out)
	h.dags.add(t, "envy", fmt.Sprintf(`{"nodes": [{"id": "show", "type": "local", "config": {"command": %s, "env": {"GREETING": "hello"}, "dir": %s}}]}`,
		js(cmd), js(workDir)))
	h.start()
	id := h.enqueue("envy", `{"day": "2024-06-01"}`)
	run, _ := h.waitRun(id)
	if run.State != api.RunSuccess {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
	env, _ := os.ReadFile(filepath.Join(out, "env"))
	for _, want := range []string{"SLUICE_RUN_ID=" + strconv.FormatInt(id, 10), "SLUICE_DAG=envy", "SLUICE_TASK=show", "SLUICE_ATTEMPT=1", "GREETING=hello", "SLUICE_RUN_CONFIG=" + h.dir} {
		if !strings.Contains(string(env), want) {
			t.Errorf("env lacks %q", want)
		}
	}
	if strings.Contains(string(env), "SLUICE_BATCH_FILE") {
		t.Error("batch file offered to a run without a batch")
	}
	cfg, _ := os.ReadFile(filepath.Join(out, "config"))
	if string(cfg) != `{"day": "2024-06-01"}` {
		t.Errorf("run config %q", cfg)
	}
	pwd, _ := os.ReadFile(filepath.Join(out, "pwd"))
	if strings.TrimSpace(string(pwd)) != workDir {
		t.Errorf("cwd %q, want %q", pwd, workDir)
	}
}

func TestBatchFileDelivered(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	out := filepath.Join(t.TempDir(), "batch")
	h.dags.add(t, "sink", shellDAG(map[string]string{"read": fmt.Sprintf(`cat "$SLUICE_BATCH_FILE" > %s`, out)}, nil, ""))
	h.start()
	msgs := "{\"k\":1}\n{\"k\":2}\n"
	batch := &store.Batch{Topic: "events", Partition: 3, FirstOffset: 10, LastOffset: 11, Messages: []byte(msgs)}
	id, err := h.r.Enqueue(context.Background(), store.NewRun{DAG: "sink", Trigger: store.TriggerSensor, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.r.Enqueue(context.Background(), store.NewRun{DAG: "sink", Trigger: store.TriggerSensor, Batch: batch})
	if !errors.Is(err, store.ErrDuplicateBatch) || again != id {
		t.Fatalf("re-delivered batch: %d %v", again, err)
	}
	run, _ := h.waitRun(id)
	if run.State != api.RunSuccess || run.Batch != "events/3/10-11" {
		t.Fatalf("run %+v", run)
	}
	got, _ := os.ReadFile(out)
	if string(got) != msgs {
		t.Fatalf("batch file %q", got)
	}
	if n, _ := h.st.QueuedCount(context.Background(), "sink"); n != 0 {
		t.Fatalf("duplicate left %d queued", n)
	}
}

func TestLogsCaptured(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	// 6 KiB of stdout then a line on stderr: the tail keeps the end, the
	// file keeps everything.
	cmd := `i=0; while [ $i -lt 100 ]; do printf 'line %03d %s\n' $i 0123456789012345678901234567890123456789012345678901; i=$((i+1)); done; echo to-stderr >&2`
	h.dags.add(t, "chatty", shellDAG(map[string]string{"talk": cmd}, nil, ""))
	h.start()
	id := h.enqueue("chatty", "")
	run, tasks := h.waitRun(id)
	if run.State != api.RunSuccess {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
	task := tasks["talk"]
	if !strings.HasSuffix(task.LogTail, "line 099 0123456789012345678901234567890123456789012345678901\nto-stderr\n") {
		t.Fatalf("tail ends %q", task.LogTail[max(0, len(task.LogTail)-80):])
	}
	if len(task.LogTail) > logTailBytes || strings.Contains(task.LogTail, "line 000") || !strings.HasPrefix(task.LogTail, "line ") {
		t.Fatalf("tail of %d bytes starts %q", len(task.LogTail), task.LogTail[:20])
	}
	full, err := os.ReadFile(task.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(full), "line 000 ") || strings.Count(string(full), "\n") != 101 {
		t.Fatalf("log file %d bytes, %d lines", len(full), strings.Count(string(full), "\n"))
	}
	if !strings.HasPrefix(task.LogFile, filepath.Join(h.dir, "runs", strconv.FormatInt(id, 10))) {
		t.Fatalf("log file %s not under the state dir", task.LogFile)
	}
	snap, _ := h.snapshotRun(id)
	if snap.Tasks[0].LogTail != task.LogTail || snap.Tasks[0].LogFile != task.LogFile {
		t.Fatal("snapshot lacks the log")
	}
}

func TestUnknownKindFails(t *testing.T) {
	t.Parallel()
	h := setup(t, func(c *Config) { c.Kinds = NewKinds() })
	h.dags.add(t, "k", `{"nodes": [{"id": "x", "type": "sluice.meta.lineage", "config": {}}]}`)
	h.start()
	run, tasks := h.waitRun(h.enqueue("k", ""))
	if run.State != api.RunFailed || !strings.Contains(tasks["x"].Error, `unknown task kind "sluice.meta.lineage"`) {
		t.Fatalf("run %s, task %+v", run.State, tasks["x"])
	}
}

func TestRegisteredKindRunsAndPanicsAreFailures(t *testing.T) {
	t.Parallel()
	kinds := NewKinds()
	var seen []string
	kinds.Register("sluice.meta.*", func(ctx context.Context, tr *TaskRun) error {
		seen = append(seen, tr.Node.Type)
		if tr.Node.ID == "boom" {
			panic("kaboom")
		}
		return nil
	})
	h := setup(t, func(c *Config) { c.Kinds = kinds; c.TaskParallelism = 1 })
	h.dags.add(t, "meta", `{"nodes": [{"id": "ok", "type": "sluice.meta.read_bi", "config": {}},
		{"id": "boom", "type": "sluice.meta.lineage", "config": {}, "depends_on": ["ok"]}]}`)
	h.start()
	run, tasks := h.waitRun(h.enqueue("meta", ""))
	if run.State != api.RunFailed || tasks["ok"].State != "success" || !strings.Contains(tasks["boom"].Error, "panic in task kind") {
		t.Fatalf("run %s, tasks %+v", run.State, tasks)
	}
	if strings.Join(seen, ",") != "sluice.meta.read_bi,sluice.meta.lineage" {
		t.Fatalf("seen %v", seen)
	}
}

func TestKindsLookup(t *testing.T) {
	t.Parallel()
	k := NewKinds()
	mark := func(s string) KindFunc {
		return func(context.Context, *TaskRun) error { return errors.New(s) }
	}
	k.Register("sluice.*", mark("builtin"))
	k.Register("sluice.meta.*", mark("meta"))
	k.Register("sluice.meta.special", mark("special"))
	cases := map[string]string{
		"sluice.meta.special": "special",
		"sluice.meta.other":   "meta",
		"sluice.noop":         "builtin",
		"local":               "",
	}
	for kind, want := range cases {
		fn, ok := k.Lookup(kind)
		got := ""
		if ok {
			got = fn(context.Background(), nil).Error()
		}
		if got != want {
			t.Errorf("%s → %q, want %q", kind, got, want)
		}
	}
}

func TestBatchMessagesForBuiltinKinds(t *testing.T) {
	t.Parallel()
	got := make(chan string, 2)
	kinds := NewKinds()
	kinds.Register("sluice.sink", func(ctx context.Context, tr *TaskRun) error {
		msgs, err := tr.BatchMessages(ctx)
		got <- string(msgs)
		return err
	})
	h := setup(t, func(c *Config) { c.Kinds = kinds })
	h.dags.add(t, "sink", `{"nodes": [{"id": "s", "type": "sluice.sink", "config": {}}]}`)
	h.start()
	batch := &store.Batch{Topic: "t", Partition: 0, FirstOffset: 1, LastOffset: 1, Messages: []byte("{\"m\":1}\n")}
	id, err := h.r.Enqueue(context.Background(), store.NewRun{DAG: "sink", Trigger: store.TriggerSensor, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	if run, _ := h.waitRun(id); run.State != api.RunSuccess {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
	if m := <-got; m != "{\"m\":1}\n" {
		t.Fatalf("batch messages %q", m)
	}
	// A run without a batch sees none.
	if run, _ := h.waitRun(h.enqueue("sink", "")); run.State != api.RunSuccess {
		t.Fatal(run.Error)
	}
	if m := <-got; m != "" {
		t.Fatalf("messages without a batch: %q", m)
	}
}

// The engine's TaskEnv reaches every task process and wins over the
// process's own environment (the demo's TMPDIR inside its state dir).
func TestTaskEnvDelivered(t *testing.T) {
	t.Parallel()
	scratch := t.TempDir()
	h := setup(t, func(c *Config) { c.TaskEnv = []string{"TMPDIR=" + scratch} })
	out := filepath.Join(t.TempDir(), "tmpdir")
	h.dags.add(t, "scratchy", shellDAG(map[string]string{"show": fmt.Sprintf(`printf %%s "$TMPDIR" > %s`, out)}, nil, ""))
	h.start()
	run, _ := h.waitRun(h.enqueue("scratchy", ""))
	if run.State != api.RunSuccess {
		t.Fatalf("run %s %q", run.State, run.Error)
	}
	if got, _ := os.ReadFile(out); string(got) != scratch {
		t.Errorf("task saw TMPDIR=%q, want %q", got, scratch)
	}
}
