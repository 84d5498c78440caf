package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCmd runs a subcommand in-process with its own streams and an
// environment of vars only.
func runCmd(ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut syncBuffer
	env := &cliEnv{stdout: &out, stderr: &errOut, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
	code = dispatch(ctx, env, args)
	return code, out.String(), errOut.String()
}

// startInProcessEngine runs `sluice run` in a goroutine until the returned
// stop is called; stop returns its exit code.
func startInProcessEngine(t *testing.T, vars map[string]string, args ...string) (stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	env := &cliEnv{stdout: &syncBuffer{}, stderr: stderr, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
	done := make(chan int, 1)
	go func() { done <- dispatch(ctx, env, append([]string{"run"}, args...)) }()
	enginetest.Eventually(t, 20*time.Second, func() bool {
		_, held, _ := store.LockHolder(vars["SLUICE_STATE_DIR"])
		select {
		case code := <-done:
			t.Fatalf("sluice run exited %d: %s", code, stderr.String())
		default:
		}
		return held && strings.Contains(stderr.String(), "engine started")
	}, "the engine to take the state dir")
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("sluice run did not stop")
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return stderr, stop
}

func TestRunTriggerAndList(t *testing.T) {
	t.Parallel()
	dags, state := t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hello", `{"nodes": [{"id": "say", "type": "local", "config": {"command": "cat \"$SLUICE_RUN_CONFIG\""}}]}`)
	enginetest.WriteDAG(t, dags, "broken", `{"nodes": [{"id": "x", "type": "sluice.fail", "config": {"message": "nope"}}]}`)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	stderr, stop := startInProcessEngine(t, vars, "--kill-grace", "1s")

	ctx := context.Background()
	start := time.Now()
	code, out, errOut := runCmd(ctx, vars, "trigger", "hello", "--config", `{"day":"2024-06-01"}`, "--wait")
	if code != exitOK || !strings.Contains(out, "success") {
		t.Fatalf("trigger hello: %d %q %q", code, out, errOut)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a triggered run took %s to finish", d)
	}
	if !strings.Contains(errOut, "picks it up") {
		t.Errorf("trigger did not see the engine: %q", errOut)
	}
	code, out, _ = runCmd(ctx, vars, "trigger", "--wait", "broken")
	if code != exitFailed || !strings.Contains(out, "failed: task x failed: nope") {
		t.Fatalf("trigger broken: %d %q", code, out)
	}
	// A DAG nothing knows is refused at once; nothing is queued.
	code, out, errOut = runCmd(ctx, vars, "trigger", "ghost", "--wait")
	if code != exitUsage || !strings.Contains(errOut, `no DAG named "ghost"`) {
		t.Fatalf("trigger ghost: %d %q %q", code, out, errOut)
	}

	code, out, errOut = runCmd(ctx, vars, "runs", "list", "--json")
	if code != exitOK {
		t.Fatalf("runs list: %d %s", code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("runs list --json: %v\n%s", err, out)
	}
	if len(rows) != 2 {
		t.Fatalf("%d runs listed", len(rows))
	}
	for _, key := range []string{"id", "dag", "state", "queued_at", "started_at", "finished_at", "error"} {
		if _, ok := rows[0][key]; !ok {
			t.Errorf("row lacks %q: %v", key, rows[0])
		}
	}
	if rows[1]["dag"] != "hello" || rows[1]["state"] != "success" || rows[0]["dag"] != "broken" || rows[0]["state"] != "failed" {
		t.Fatalf("rows %v", rows)
	}
	if cfg, _ := rows[1]["config"].(map[string]any); cfg["day"] != "2024-06-01" {
		t.Fatalf("config %v", rows[1]["config"])
	}
	code, out, _ = runCmd(ctx, vars, "runs", "list", "--state", "failed", "--dag", "broken")
	if code != exitOK || !strings.Contains(out, "broken") || strings.Contains(out, "hello") || !strings.HasPrefix(out, "ID") {
		t.Fatalf("runs list text: %d %q", code, out)
	}

	// The run's task output went to its log file under the state dir.
	logs, _ := filepath.Glob(filepath.Join(state, "runs", "*", "say.1.log"))
	if len(logs) != 1 {
		t.Fatalf("log files %v", logs)
	}
	if data, _ := os.ReadFile(logs[0]); string(data) != `{"day":"2024-06-01"}` {
		t.Fatalf("task log %q", data)
	}

	if code := stop(); code != exitOK {
		t.Fatalf("sluice run exited %d", code)
	}
	// JSON lines on stderr.
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	var lines int
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", sc.Text())
		}
		lines++
	}
	if lines == 0 || !strings.Contains(stderr.String(), `"msg":"engine stopped"`) {
		t.Fatalf("stderr %s", stderr.String())
	}
}

func TestSecondEngineIsRefused(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"DAGS_DIR": t.TempDir(), "SLUICE_STATE_DIR": t.TempDir()}
	startInProcessEngine(t, vars)
	code, _, errOut := runCmd(context.Background(), vars, "run")
	if code != exitFailed || !strings.Contains(errOut, fmt.Sprintf("held by pid %d", os.Getpid())) {
		t.Fatalf("second engine: %d %q", code, errOut)
	}
}

func TestTriggerWithoutEngine(t *testing.T) {
	t.Parallel()
	dags := t.TempDir()
	enginetest.WriteDAG(t, dags, "later", `{"nodes": [{"id": "a", "type": "local", "config": {"command": "true"}}]}`)
	vars := map[string]string{"SLUICE_STATE_DIR": t.TempDir(), "DAGS_DIR": dags}
	ctx := context.Background()
	code, out, errOut := runCmd(ctx, vars, "trigger", "later", "--priority", "3")
	if code != exitOK || !strings.Contains(out, "queued run 1 of later") || !strings.Contains(errOut, "no engine is running") {
		t.Fatalf("trigger: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCmd(ctx, vars, "trigger", "later", "--json")
	var row map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &row) != nil || row["id"] != float64(2) || row["state"] != "queued" || row["started_at"] != nil {
		t.Fatalf("trigger --json: %d %q", code, out)
	}
	code, out, _ = runCmd(ctx, vars, "runs", "list")
	if code != exitOK || strings.Count(out, "queued") != 2 {
		t.Fatalf("runs list: %q", out)
	}
	// --wait gives up when told to, leaving the run queued.
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if code, _, errOut := runCmd(wctx, vars, "trigger", "later", "--wait"); code != exitFailed || !strings.Contains(errOut, "goes on") {
		t.Fatalf("trigger --wait without engine: %d %q", code, errOut)
	}
}

func TestRunsListEmptyStateDir(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "never-used")
	vars := map[string]string{"SLUICE_STATE_DIR": state}
	code, out, _ := runCmd(context.Background(), vars, "runs", "list", "--json")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Fatalf("runs list --json: %d %q", code, out)
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatal("listing created the state dir")
	}
}

func TestRunCommandsUsage(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SLUICE_STATE_DIR": t.TempDir()}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"trigger"}, exitUsage, "name the DAG"},
		{[]string{"trigger", "d", "--config", "[1]"}, exitUsage, "JSON object"},
		{[]string{"trigger", "a", "b"}, exitUsage, "unexpected argument"},
		{[]string{"trigger", "--help"}, exitOK, "Usage: sluice trigger"},
		{[]string{"runs", "list", "--state", "bogus"}, exitUsage, "unknown state"},
		{[]string{"runs", "list", "--help"}, exitOK, "Usage: sluice runs list"},
		{[]string{"run", "--help"}, exitOK, "SIGTERM"},
		{[]string{"run", "--tag-limit", "team"}, exitUsage, "KEY=VALUE:LIMIT"},
		{[]string{"run", "--synchronous", "OFF"}, exitUsage, "FULL or NORMAL"},
		{[]string{"run", "extra"}, exitUsage, "unexpected argument"},
	}
	for _, c := range cases {
		code, _, errOut := runCmd(context.Background(), vars, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q lacks %q", c.args, code, c.code, errOut, c.want)
		}
	}
	code, _, errOut := runCmd(context.Background(), map[string]string{"SLUICE_MAX_CONCURRENT_RUNS": "many"}, "run")
	if code != exitUsage || !strings.Contains(errOut, "SLUICE_MAX_CONCURRENT_RUNS") {
		t.Errorf("bad env: %d %q", code, errOut)
	}
}

func TestTagLimitFlag(t *testing.T) {
	t.Parallel()
	var f tagLimitsFlag
	for _, s := range []string{"team=data:2", "tier=*:1"} {
		if err := f.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if f.String() != "team=data:2,tier=*:1" {
		t.Fatalf("%s", f.String())
	}
	for _, bad := range []string{"team=data", "team:2", "=x:1", "team=data:0", "team=data:x"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// buildSluice builds the binary once per test binary run.
var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

func buildSluice(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "sluice")
		out, err := exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func startBinary(t *testing.T, bin string, vars map[string]string, stderrPath string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SLUICE_STATE_DIR="+vars["SLUICE_STATE_DIR"], "DAGS_DIR="+vars["DAGS_DIR"])
	f, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestCrashRecovery kills `sluice run` with SIGKILL while tasks run, starts
// it again, and checks that every run is accounted for: interrupted runs
// failed (and re-queued when their DAG says retry_on_crash), queued runs
// run, the database is sound.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, work := t.TempDir(), t.TempDir(), t.TempDir()
	gate := writeGatedDAGs(t, dags, work)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}

	first := startBinary(t, bin, vars, filepath.Join(work, "stderr1"), "run", "--max-concurrent-runs", "2", "--kill-grace", "1s")
	ctx := context.Background()
	trigger := func(name string) int64 {
		code, out, errOut := runCmd(ctx, vars, "trigger", name, "--json")
		var row runRow
		if code != exitOK || json.Unmarshal([]byte(out), &row) != nil {
			t.Fatalf("trigger %s: %d %q %q", name, code, out, errOut)
		}
		return row.ID
	}
	quick := trigger("quick")
	enginetest.Eventually(t, 30*time.Second, func() bool { return runState(t, state, quick) == api.RunSuccess }, "the quick run")
	keep, drop := trigger("keep"), trigger("drop")
	waiting := trigger("quick") // queued behind the two slots
	enginetest.Eventually(t, 30*time.Second, func() bool {
		data, _ := os.ReadFile(filepath.Join(work, "pgids"))
		return len(strings.Fields(string(data))) == 2
	}, "both gated runs to run their task")
	if s := runState(t, state, waiting); s != api.RunQueued {
		t.Fatalf("third run %s, want queued behind max-concurrent-runs 2", s)
	}

	first.Process.Signal(syscall.SIGKILL)
	first.Wait()

	st, err := store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("after SIGKILL: integrity %q %v", res, err)
	}
	st.Close()

	second := startBinary(t, bin, vars, filepath.Join(work, "stderr2"), "run", "--max-concurrent-runs", "2", "--kill-grace", "1s")
	// A second engine while it runs is refused, naming it.
	enginetest.Eventually(t, 30*time.Second, func() bool {
		pid, held, _ := store.LockHolder(state)
		return held && pid == second.Process.Pid
	}, "the restarted engine to take the lock")
	if code, _, errOut := runCmd(ctx, vars, "run"); code != exitFailed || !strings.Contains(errOut, fmt.Sprintf("pid %d", second.Process.Pid)) {
		t.Fatalf("second engine: %d %q", code, errOut)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var runs []runRow
	enginetest.Eventually(t, 60*time.Second, func() bool {
		runs = listRuns(t, vars)
		for _, r := range runs {
			if r.State == api.RunQueued || r.State == api.RunRunning {
				return false
			}
		}
		return len(runs) == 5
	}, "every run to settle")
	byID := map[int64]runRow{}
	var requeued *runRow
	for i, r := range runs {
		byID[r.ID] = r
		if r.RetryOf != 0 {
			requeued = &runs[i]
		}
	}
	if byID[quick].State != api.RunSuccess || byID[waiting].State != api.RunSuccess {
		t.Errorf("quick runs: %+v %+v", byID[quick], byID[waiting])
	}
	for _, id := range []int64{keep, drop} {
		if r := byID[id]; r.State != api.RunFailed || !strings.HasPrefix(r.Error, "interrupted") {
			t.Errorf("interrupted run %d: %+v", id, r)
		}
	}
	if requeued == nil || requeued.RetryOf != keep || requeued.DAG != "keep" || requeued.State != api.RunSuccess || requeued.Trigger != store.TriggerRecovery {
		t.Errorf("re-queued run %+v", requeued)
	}

	// SIGTERM: a clean stop, JSON logs, a sound database.
	second.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- second.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sluice run after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		second.Process.Kill()
		t.Fatal("sluice run ignored SIGTERM")
	}
	logs, _ := os.ReadFile(filepath.Join(work, "stderr2"))
	if !strings.Contains(string(logs), `"msg":"run interrupted by a crash; re-queued (retry_on_crash)"`) ||
		!strings.Contains(string(logs), `"msg":"engine stopped"`) {
		t.Fatalf("stderr of the restarted engine:\n%s", logs)
	}
	st, err = store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity %q %v", res, err)
	}
}

func runState(t *testing.T, state string, id int64) api.RunState {
	t.Helper()
	st, err := store.OpenDir(context.Background(), state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.State
}

func listRuns(t *testing.T, vars map[string]string) []runRow {
	t.Helper()
	code, out, errOut := runCmd(context.Background(), vars, "runs", "list", "--json", "--limit", "0")
	if code != exitOK {
		t.Fatalf("runs list: %d %s", code, errOut)
	}
	var rows []runRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// FuzzTagLimit: whatever --tag-limit accepts prints back to itself.
func FuzzTagLimit(f *testing.F) {
	for _, s := range []string{"team=data:2", "tier=*:1", "a=b", "=:", "k=v:-1", "k=v=w:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fl tagLimitsFlag
		if err := fl.Set(s); err != nil {
			return
		}
		if len(fl) != 1 || fl[0].Limit <= 0 || fl[0].Key == "" || fl[0].Value == "" {
			t.Fatalf("accepted %q as %+v", s, fl)
		}
		var again tagLimitsFlag
		if err := again.Set(fl.String()); err != nil || again[0] != fl[0] {
			t.Fatalf("%q → %q → %+v (%v)", s, fl.String(), again, err)
		}
	})
}

// writeGatedDAGs writes the crash tests' DAGs: "keep" (retry_on_crash) and
// "drop", whose local task waits until the returned gate file exists, and
// "quick". Each task records its process group in work/pgids, so the test
// can clean up the tasks a crashed engine leaves behind.
func writeGatedDAGs(t *testing.T, dags, work string) (gate string) {
	t.Helper()
	gate = filepath.Join(work, "gate")
	task := fmt.Sprintf(`echo $$ >> %s/pgids; while [ ! -e %s ]; do sleep 0.05; done`, work, gate)
	gated := func(extra string) string {
		return fmt.Sprintf(`{%s "nodes": [{"id": "work", "type": "local", "config": {"command": %q}},
			{"id": "after", "type": "sluice.noop", "config": {}, "depends_on": ["work"]}]}`, extra, task)
	}
	enginetest.WriteDAG(t, dags, "keep", gated(`"retry_on_crash": true,`))
	enginetest.WriteDAG(t, dags, "drop", gated(""))
	enginetest.WriteDAG(t, dags, "quick", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	t.Cleanup(func() {
		data, _ := os.ReadFile(filepath.Join(work, "pgids"))
		for _, f := range strings.Fields(string(data)) {
			if pgid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
	})
	return gate
}
