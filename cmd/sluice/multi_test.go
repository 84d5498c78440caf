package main

import (
	"bufio"
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
	"github.com/sluice-dev/sluice/engine/store/pgtest"
	"github.com/sluice-dev/sluice/engine/store/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// instanceProc is one `sluice run --store postgres://…` child.
type instanceProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr string
}

func startInstance(t *testing.T, bin, dir, tag, url, dags string, extra ...string) *instanceProc {
	t.Helper()
	state := filepath.Join(dir, tag)
	args := append([]string{"run", "--store", url, "--state-dir", state, "--dags-dir", dags, "--poll-interval", "100ms"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	p := &instanceProc{cmd: cmd, exited: make(chan struct{}), stderr: filepath.Join(dir, tag+".stderr")}
	f, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stderr, cmd.Stdout = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-p.exited
	})
	enginetest.Eventually(t, 60*time.Second, func() bool {
		select {
		case <-p.exited:
			t.Fatalf("%s exited: %s", tag, readFile(t, p.stderr))
		default:
		}
		return strings.Contains(readFile(t, p.stderr), `engine started`)
	}, tag+" to start its engine")
	return p
}

func writeCrashDAG(t *testing.T, dir, name, command string) {
	t.Helper()
	def := map[string]any{"retry_on_crash": true, "nodes": []any{
		map[string]any{"id": "t", "type": "local", "config": map[string]any{"command": []string{"sh", "-c", command}}},
	}}
	b, _ := json.Marshal(def)
	if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runIDsIn reads the side-effect file: one run id per task execution.
func runIDsIn(t *testing.T, path string) map[int64]int {
	t.Helper()
	out := map[int64]int{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64)
		if err != nil {
			t.Fatalf("side-effect line %q", sc.Text())
		}
		out[id]++
	}
	return out
}

func runsByState(t *testing.T, st store.Interface) map[api.RunState][]store.Run {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[api.RunState][]store.Run{}
	for _, r := range runs {
		out[r.State] = append(out[r.State], r)
	}
	return out
}

// TestThreeInstancesOneDatabaseSurviveAKill: three `sluice run` processes
// on one PostgreSQL database and one DAG folder; 1,000 runs queued across
// them; one instance is killed with SIGKILL mid-way. Every queued run ends
// in exactly one success (its own or its re-run's), no run id executes its
// task twice, and the survivors take the dead instance's runs within the
// lease.
func TestThreeInstancesOneDatabaseSurviveAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-instance test skipped in -short mode")
	}
	url := pgtest.Database(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	dags := filepath.Join(dir, "dags")
	os.Mkdir(dags, 0o755)
	out := filepath.Join(dir, "executions")
	// The task lasts a little after its side effect: the victim must
	// still hold runs when the SIGKILL lands, not have settled them all
	// between the test seeing one running and the kill.
	writeCrashDAG(t, dags, "count", `echo "$SLUICE_RUN_ID" >> `+out+`; sleep 0.2`)
	const lease = 3 * time.Second
	var insts []*instanceProc
	for i := range 3 {
		insts = append(insts, startInstance(t, bin, dir, fmt.Sprintf("i%d", i), url, dags,
			"--lease", lease.String(), "--max-concurrent-runs", "24"))
	}
	st, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// The command line against the database: one run queued by trigger.
	trig := exec.Command(bin, "trigger", "count", "--store", url, "--state-dir", filepath.Join(dir, "cli"), "--json")
	trig.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	tout, err := trig.CombinedOutput()
	if err != nil || strings.Contains(string(tout), "postgres://") {
		t.Fatalf("sluice trigger --store: %v\n%s", err, tout)
	}
	const total = 1000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range (total - 1) / 4 {
				if _, err := st.CreateRun(context.Background(), store.NewRun{DAG: "count", External: true}); err != nil {
					t.Error(err)
					return
				}
			}
			_ = w
		})
	}
	wg.Wait()
	for range total - 1 - 4*((total-1)/4) {
		st.CreateRun(context.Background(), store.NewRun{DAG: "count", External: true})
	}

	victim := insts[0]
	enginetest.Eventually(t, 120*time.Second, func() bool {
		return len(runsByState(t, st)[api.RunSuccess]) >= total/3
	}, "a third of the runs to succeed")
	// The victim must hold runs when it dies for the take-over to be seen.
	victimID := ""
	enginetest.Eventually(t, 30*time.Second, func() bool {
		for _, r := range runsByState(t, st)[api.RunRunning] {
			if strings.Contains(r.Instance, fmt.Sprintf("-%d-", victim.cmd.Process.Pid)) {
				victimID = r.Instance
				return true
			}
		}
		return false
	}, "the victim to run something")
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	killedAt := time.Now()

	enginetest.Eventually(t, 180*time.Second, func() bool {
		by := runsByState(t, st)
		return len(by[api.RunQueued])+len(by[api.RunRunning]) == 0 && len(by[api.RunSuccess]) >= total
	}, "every run to end")
	by := runsByState(t, st)
	if len(by[api.RunSuccess]) != total || len(by[api.RunCancelled]) != 0 {
		t.Fatalf("%d runs succeeded, %d cancelled; want exactly %d successes", len(by[api.RunSuccess]), len(by[api.RunCancelled]), total)
	}
	retried := map[int64]bool{}
	for _, r := range by[api.RunSuccess] {
		if r.RetryOf != 0 {
			retried[r.RetryOf] = true
		}
	}
	if len(by[api.RunFailed]) == 0 {
		t.Fatal("no run of the killed instance was interrupted")
	}
	for _, r := range by[api.RunFailed] {
		if r.Error != store.InterruptedError || r.Instance != victimID || !retried[r.ID] {
			t.Fatalf("failed run %+v: want an interrupted run of %s, re-run once", r, victimID)
		}
		if took := r.FinishedAt.Sub(killedAt); took > lease+2*time.Second {
			t.Fatalf("the dead instance's run %d was taken over %s after the kill; lease %s", r.ID, took, lease)
		}
	}
	execs := runIDsIn(t, out)
	for id, n := range execs {
		if n != 1 {
			t.Fatalf("run %d executed its task %d times", id, n)
		}
	}
	for _, r := range by[api.RunSuccess] {
		if execs[r.ID] != 1 {
			t.Fatalf("successful run %d has no execution recorded", r.ID)
		}
	}
	t.Logf("%d runs, %d interrupted by the kill and re-run by the survivors", total, len(by[api.RunFailed]))

	// sluice instances sees the dead one; runs list shows claims.
	cmd := exec.Command(bin, "instances", "--json", "--store", url, "--lease", lease.String(), "--state-dir", filepath.Join(dir, "cli"))
	cmd.Env = trig.Env
	b, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var rows []instanceRow
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	status := map[string]string{}
	for _, r := range rows {
		status[r.ID] = r.Status
	}
	if len(rows) != 3 || status[victimID] != store.InstanceDead {
		t.Fatalf("instances %s", b)
	}
	cmd = exec.Command(bin, "runs", "list", "--json", "--limit", "3", "--store", url, "--state-dir", filepath.Join(dir, "cli"))
	cmd.Env = trig.Env
	b, err = cmd.Output()
	var listed []runRow
	if err != nil || json.Unmarshal(b, &listed) != nil || len(listed) != 3 || listed[0].Instance == "" {
		t.Fatalf("runs list: %v %s", err, b)
	}
}

// TestPausedInstanceCannotOverwriteATakenRun: an instance stopped with
// SIGSTOP while running a run is found dead by another, which interrupts
// the run and re-runs it; resumed, the paused instance's end of the run is
// fenced: the store keeps the take-over's outcome.
func TestPausedInstanceCannotOverwriteATakenRun(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-instance test skipped in -short mode")
	}
	url := pgtest.Database(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	dags := filepath.Join(dir, "dags")
	os.Mkdir(dags, 0o755)
	out := filepath.Join(dir, "executions")
	writeCrashDAG(t, dags, "slow", `echo "$SLUICE_RUN_ID" >> `+out+`; [ -e `+filepath.Join(dir, "release")+`-$SLUICE_RUN_ID ] || sleep 2`)
	const lease = 1500 * time.Millisecond
	a := startInstance(t, bin, dir, "a", url, dags, "--lease", lease.String())
	st, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.CreateRun(context.Background(), store.NewRun{DAG: "slow", External: true})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return runIDsIn(t, out)[id] == 1
	}, "instance a to run the run")
	// Only now a second instance: the run is a's.
	startInstance(t, bin, dir, "b", url, dags, "--lease", lease.String())
	a.cmd.Process.Signal(syscall.SIGSTOP)
	var retry store.Run
	enginetest.Eventually(t, 60*time.Second, func() bool {
		for _, r := range runsByState(t, st)[api.RunSuccess] {
			if r.RetryOf == id {
				retry = r
				return true
			}
		}
		return false
	}, "b to take the run over and finish its re-run")
	a.cmd.Process.Signal(syscall.SIGCONT)
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(readFile(t, a.stderr), "settled by another instance")
	}, "a to find its end of the run fenced")
	r, err := st.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != api.RunFailed || r.Error != store.InterruptedError {
		t.Fatalf("the taken run = %+v; want it left interrupted by the take-over", r)
	}
	tasks, _ := st.Tasks(context.Background(), id)
	for _, a := range tasks[id] {
		if a.State == api.TaskSuccess {
			t.Fatalf("the paused instance wrote its task's success over the take-over: %+v", a)
		}
	}
	if retry.Instance == r.Instance {
		t.Fatalf("the re-run was claimed by the paused instance %s", r.Instance)
	}
}
