package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/api"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/store"
)

// startServeBinary starts the built binary as `sluice serve args...` with
// exactly env (plus PATH and HOME), stdout and stderr to files in dir, and
// waits until the SSH server listens; it returns the process and the SSH
// address.
func startServeBinary(t *testing.T, bin, dir, tag string, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd, addr, _ := startServeBinaryExited(t, bin, dir, tag, env, args...)
	return cmd, addr
}

// startServeBinaryExited is startServeBinary that also returns a channel
// closed once the process has been reaped: a killed engine's flock is only
// released then, so a restart on the same state dir must wait for it.
func startServeBinaryExited(t *testing.T, bin, dir, tag string, env []string, args ...string) (*exec.Cmd, string, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	stdout, err := os.Create(filepath.Join(dir, tag+".stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, tag+".stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	var addr string
	enginetest.Eventually(t, 60*time.Second, func() bool {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, tag+".stderr"))
			t.Fatalf("sluice serve exited: %s", log)
		default:
		}
		log, _ := os.ReadFile(filepath.Join(dir, tag+".stderr"))
		addr = logAddr(string(log), "serving the console over ssh")
		return addr != ""
	}, "sluice serve ("+tag+") to listen for SSH")
	return cmd, addr, exited
}

// The secrets TestSecretsNeverShown plants: each a distinctive value in
// the variable that holds it in production.
var plantedSecrets = map[string]string{
	"AWS_ACCESS_KEY_ID":          "AKIASLUICEPLANTED001",
	"AWS_SECRET_ACCESS_KEY":      "sluicePlantedAwsSecret/0123456789abcdefXYZ",
	"SLUICE_KAFKA_SASL_PASSWORD": "kafka-sasl-PLANTED-0001",
	"MODE_TOKEN":                 "modetoken-PLANTED-0001",
	"MODE_SECRET":                "modesecret-PLANTED-0001",
	"GITHUB_TOKEN":               "ghp_PLANTEDsluice0000000000000000000001",
}

// TestSecretsNeverShown injects known secrets through the environment of
// a real `sluice serve`, makes a task print them and an S3 source fail with
// those credentials, drives the console over SSH to where they would show,
// runs `config check`, scrapes the metrics — then greps every channel:
// stdout, stderr (the JSON log), the SSH screen, config check's output and
// errors, the metrics. The task's own log file must contain them (so the
// test is not vacuous); nothing else may.
func TestSecretsNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "leaky", `{"nodes": [{"id": "print", "type": "local", "config": {"command":
		"echo gh=$GITHUB_TOKEN aws=$AWS_SECRET_ACCESS_KEY id=$AWS_ACCESS_KEY_ID kafka=$SLUICE_KAFKA_SASL_PASSWORD mode=$MODE_TOKEN:$MODE_SECRET; cat /nonexistent/$MODE_SECRET; exit 3"}}]}`)
	// A Starlark DAG that fails while formatting a secret would put it in
	// the loader's error; env() sees only SLUICE_DAG_* and allowed names,
	// so the secret reads as unset and never gets that far.
	if err := os.WriteFile(filepath.Join(dags, "oops.star"), []byte(`fail("cannot reach api with oops_" + env("GITHUB_TOKEN", ""))`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, op, _ := writeKeys(t, dir)
	cfg := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("scan-interval: 1h\nserve:\n  ssh: 127.0.0.1:0\n  authorized-keys: %s\n  metrics: 127.0.0.1:0\n", keys)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"SLUICE_STATE_DIR=" + state, "DAGS_DIR=" + dags, "SLUICE_CONFIG=" + cfg,
		// An S3 source that fails with the planted credentials.
		"DAGS_S3_BUCKET=sluice-secret-test", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3=http://127.0.0.1:1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for k, v := range plantedSecrets {
		env = append(env, k+"="+v)
	}
	serve, addr := startServeBinary(t, bin, dir, "serve", env)

	c := sshtest.Open(t, addr, "olga", op, 160, 45, nil)
	c.Screen.WaitFor(t, 0, sshWait, "leaky", "cannot reach api with oops_")
	mark := triggerFromTree(t, c, "leaky")
	c.Screen.WaitFor(t, mark, sshWait, "Finished (1)")
	// The run's detail shows the task's log tail: the secrets, redacted.
	focusPane(t, c, "2")
	mark = c.Screen.Mark()
	c.Type(t, "G")
	c.Screen.WaitFor(t, mark, sshWait, "›")
	mark = c.Screen.Mark()
	c.Type(t, "\r")
	c.Screen.WaitFor(t, mark, sshWait, "run #1 leaky")
	mark = c.Screen.Mark()
	c.Type(t, "z") // zoom: the whole detail, down to the log tail
	c.Screen.WaitFor(t, mark, sshWait, "gh=[redacted] aws=[redacted] id=[redacted] kafka=[redacted] mode=[redacted]:[redacted]")
	// (focusPane showed the logs pane on the way: the engine's records.)
	metricsAddr := logAddr(readFile(t, filepath.Join(dir, "serve.stderr")), "serving metrics")
	metricsText := scrape(t, metricsAddr)

	// config check, with the same environment and a file that tries to
	// carry a secret.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("github-token: "+plantedSecrets["GITHUB_TOKEN"]+"\nserve:\n  sasl-password: "+plantedSecrets["SLUICE_KAFKA_SASL_PASSWORD"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var checkOut []string
	for _, file := range []string{cfg, bad} {
		cmd := exec.Command(bin, "config", "check", "--config", file)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		out, _ := cmd.CombinedOutput()
		checkOut = append(checkOut, string(out))
	}
	if !hasRow(checkOut[0], []string{"GITHUB_TOKEN", "set", "[redacted]"}) || !strings.Contains(checkOut[1], "secrets are never read from the config file") {
		t.Fatalf("config check output unexpected:\n%s\n%s", checkOut[0], checkOut[1])
	}

	// S3 is scanned in the background: its failure (with the planted
	// credentials) reaches the log on its own time.
	enginetest.Eventually(t, 60*time.Second, func() bool {
		return strings.Contains(readFile(t, filepath.Join(dir, "serve.stderr")), "sluice-secret-test")
	}, "the S3 source's failure in the log")
	serve.Process.Signal(syscall.SIGTERM)
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(readFile(t, filepath.Join(dir, "serve.stderr")), `"msg":"engine stopped"`)
	}, "serve to stop")
	c.Close()

	channels := map[string]string{
		"stdout":             readFile(t, filepath.Join(dir, "serve.stdout")),
		"stderr (log)":       readFile(t, filepath.Join(dir, "serve.stderr")),
		"ssh screen":         c.Screen.Text(0),
		"config check":       checkOut[0],
		"config check (bad)": checkOut[1],
		"metrics":            metricsText,
	}
	if !strings.Contains(channels["stderr (log)"], "sluice-secret-test") {
		t.Error("the S3 source's failure is not in the log: the credentials were never exercised")
	}
	for _, name := range []string{"stderr (log)", "ssh screen"} {
		if !strings.Contains(channels[name], "cannot reach api with oops_") {
			t.Errorf("%s never showed the failing Starlark DAG", name)
		}
	}
	for name, text := range channels {
		for k, v := range plantedSecrets {
			if strings.Contains(text, v) {
				t.Errorf("%s shows %s", name, k)
			}
		}
	}
	// The raw SSH stream too, escape sequences and all.
	if raw := c.Screen.Text(0); strings.Contains(raw, "PLANTED") {
		t.Error("the ssh stream carries a planted secret")
	}
	// Control: the task did print them, into its own log file.
	found := false
	filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".log") && strings.Contains(readFile(t, p), plantedSecrets["GITHUB_TOKEN"]) {
			found = true
		}
		return nil
	})
	if !found {
		t.Error("the task's log file lacks the secret it printed: the test proves nothing")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeCrashRecovery kills `sluice serve` with SIGKILL while runs are
// in flight, one is queued and an SSH session watches; on restart every
// run is accounted for exactly once, the database passes integrity_check,
// and the console is served again under the same host key.
func TestServeCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildSluice(t)
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	gate := writeGatedDAGs(t, dags, dir)
	keys, op, _ := writeKeys(t, dir)
	hostKey := filepath.Join(dir, "host_key")
	env := []string{"SLUICE_STATE_DIR=" + state, "DAGS_DIR=" + dags}
	args := []string{"--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--host-key", hostKey, "--max-concurrent-runs", "2", "--kill-grace", "1s"}
	first, addr, firstExited := startServeBinaryExited(t, bin, dir, "first", env, args...)
	watcher := sshtest.Open(t, addr, "olga", op, 160, 45, nil)
	watcher.Screen.WaitFor(t, 0, sshWait, "quick")

	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	ctx := context.Background()
	trigger := func(name string) int64 {
		code, out, errOut := runCmd(ctx, vars, "trigger", name, "--json")
		var row runRow
		if code != exitOK || jsonUnmarshal(out, &row) != nil {
			t.Fatalf("trigger %s: %d %q %q", name, code, out, errOut)
		}
		return row.ID
	}
	quick := trigger("quick")
	enginetest.Eventually(t, 30*time.Second, func() bool { return runState(t, state, quick) == api.RunSuccess }, "the quick run")
	keep, drop := trigger("keep"), trigger("drop")
	waiting := trigger("quick")
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return len(strings.Fields(readFile(t, filepath.Join(dir, "pgids")))) == 2
	}, "both gated runs to run their task")
	watcher.Screen.WaitFor(t, 0, sshWait, "Running (2)")

	first.Process.Signal(syscall.SIGKILL)
	if ended, _ := watcher.Wait(sshWait); !ended {
		t.Fatal("the SSH session outlived its server")
	}
	// The SSH session can end before the process is reaped; until then its
	// flock on the state dir is held and a restart would be refused.
	select {
	case <-firstExited:
	case <-time.After(30 * time.Second):
		t.Fatal("the killed sluice serve was not reaped within 30s")
	}
	// Its tasks outlive it; they must not have inherited the lock.
	enginetest.Eventually(t, 10*time.Second, func() bool {
		_, held, err := store.LockHolder(state)
		return err == nil && !held
	}, "the state dir lock to be free")
	st, err := store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("after SIGKILL: integrity %q %v", res, err)
	}
	st.Close()

	second, addr2 := startServeBinary(t, bin, dir, "second", env, args...)
	// Same host key: clients do not see a changed identity.
	pem, err := os.ReadFile(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	client, err := gossh.Dial("tcp", addr2, &gossh.ClientConfig{User: "olga", Auth: []gossh.AuthMethod{gossh.PublicKeys(op)},
		HostKeyCallback: gossh.FixedHostKey(hostSigner.PublicKey()), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("restarted server: %v", err)
	}
	watcher2, err := sshtest.Start(client, 160, 45, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher2.Close()
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
	seen := map[int64]bool{}
	var requeued []runRow
	for _, r := range runs {
		if seen[r.ID] {
			t.Errorf("run %d listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.RetryOf != 0 {
			requeued = append(requeued, r)
		}
	}
	byID := map[int64]runRow{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	if byID[quick].State != api.RunSuccess || byID[waiting].State != api.RunSuccess {
		t.Errorf("quick runs: %+v %+v", byID[quick], byID[waiting])
	}
	for _, id := range []int64{keep, drop} {
		if r := byID[id]; r.State != api.RunFailed || !strings.HasPrefix(r.Error, "interrupted") {
			t.Errorf("interrupted run %d: %+v", id, r)
		}
	}
	if len(requeued) != 1 || requeued[0].RetryOf != keep || requeued[0].State != api.RunSuccess {
		t.Errorf("re-queued runs %+v, want exactly one retry of %d", requeued, keep)
	}
	watcher2.Screen.WaitFor(t, 0, sshWait, "Finished (5)")

	second.Process.Signal(syscall.SIGTERM)
	enginetest.Eventually(t, 30*time.Second, func() bool {
		return strings.Contains(readFile(t, filepath.Join(dir, "second.stderr")), `"msg":"engine stopped"`)
	}, "serve to stop")
	st, err = store.OpenDir(ctx, state, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity %q %v", res, err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
