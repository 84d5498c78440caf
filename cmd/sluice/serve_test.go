package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// served is `sluice serve` running in-process.
type served struct {
	stderr  *syncBuffer
	stop    func() int
	ssh     string // address the SSH server listens on ("" when none)
	metrics string
}

// logAddr finds the "addr" of the first JSON log line with msg.
func logAddr(log, msg string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == msg {
			return rec.Addr
		}
	}
	return ""
}

// startServe runs `sluice serve args...` until the test ends (or stop),
// and waits until the engine and every listener asked for are up.
func startServe(t *testing.T, vars map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stderr: &syncBuffer{}}
	env := &cliEnv{stdout: &syncBuffer{}, stderr: s.stderr, stdin: strings.NewReader(""), getenv: func(k string) string { return vars[k] }}
	done := make(chan int, 1)
	go func() { done <- dispatch(ctx, env, append([]string{"serve"}, args...)) }()
	wantSSH := strings.Contains(strings.Join(args, " "), "--ssh")
	// The SSH server starts after the engine: when the config file asks
	// for it, wait for it as for the flag.
	if cfg, err := os.ReadFile(vars["SLUICE_CONFIG"]); err == nil && strings.Contains(string(cfg), "ssh:") {
		wantSSH = true
	}
	wantMetrics := strings.Contains(strings.Join(args, " "), "--metrics")
	enginetest.Eventually(t, 30*time.Second, func() bool {
		select {
		case code := <-done:
			t.Fatalf("sluice serve exited %d: %s", code, s.stderr.String())
		default:
		}
		log := s.stderr.String()
		s.ssh = logAddr(log, "serving the console over ssh")
		s.metrics = logAddr(log, "serving metrics")
		return strings.Contains(log, "engine started") && (!wantSSH || s.ssh != "") && (!wantMetrics || s.metrics != "")
	}, "sluice serve to come up")
	var once sync.Once
	code := -1
	s.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("sluice serve did not stop")
			}
		})
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

const sshWait = 20 * time.Second

// writeKeys writes an authorized_keys file with an operator (no role: the
// default) and a viewer, and returns their keys.
func writeKeys(t *testing.T, dir string) (path string, operator, viewer gossh.Signer) {
	t.Helper()
	op, opLine := sshtest.NewKey(t)
	vw, vwLine := sshtest.NewKey(t)
	path = filepath.Join(dir, "authorized_keys")
	body := opLine + " olga@ops\nrole=viewer " + vwLine + " victor@wall\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, op, vw
}

// focusPane types a pane number and waits until the frame shows it, so
// the next key is not read together with it.
// The logs pane first: typing the focused pane's key changes nothing on
// the screen to wait for.
func focusPane(t *testing.T, c *sshtest.Console, pane string) {
	t.Helper()
	for _, p := range []string{"5", pane} {
		mark := c.Screen.Mark()
		c.Type(t, p)
		// A framed pane's title, or the tab on a small screen.
		c.Screen.WaitForAny(t, mark, sshWait, "▶ "+p+" ", "["+p+" ")
	}
}

// triggerFromTree moves from the tree's first row (the local source) to
// the one below it, the first DAG, and confirms t. The cursor must be on
// the first row: each console calls this once.
func triggerFromTree(t *testing.T, c *sshtest.Console, dag string) int {
	t.Helper()
	focusPane(t, c, "1")
	mark := c.Screen.Mark()
	c.Type(t, "j")
	c.Screen.WaitFor(t, mark, sshWait, "›") // the selection moved
	mark = c.Screen.Mark()
	c.Type(t, "t")
	c.Screen.WaitFor(t, mark, sshWait, "Trigger a run of "+dag+" now?")
	c.Type(t, "y")
	return mark
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeSSHEndToEnd: one engine, two operators over SSH with their own
// powers and screens, an unknown key refused, metrics alongside.
func TestServeSSHEndToEnd(t *testing.T) {
	t.Parallel()
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hello", `{"nodes": [{"id": "say", "type": "local", "config": {"command": "echo hello from the task"}}]}`)
	keys, op, vw := writeKeys(t, dir)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	s := startServe(t, vars, "--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--metrics", "127.0.0.1:0", "--kill-grace", "1s")

	stranger, _ := sshtest.NewKey(t)
	if _, err := sshtest.Dial(s.ssh, "mallory", stranger); err == nil {
		t.Fatal("an unknown key logged in")
	}

	olga := sshtest.Open(t, s.ssh, "olga", op, 160, 45, nil)
	victor := sshtest.Open(t, s.ssh, "victor", vw, 100, 30, nil) // its own size: tabs, not the grid
	olga.Screen.WaitFor(t, 0, sshWait, "hello", "olga (olga@ops) · operator")
	victor.Screen.WaitFor(t, 0, sshWait, "hello", "victor (victor@wall) · viewer")

	// The viewer types the trigger and is told no at once, without a
	// confirmation; the engine never saw it.
	focusPane(t, victor, "1")
	mark := victor.Screen.Mark()
	victor.Type(t, "j")
	victor.Screen.WaitFor(t, mark, sshWait, "›") // the selection moved
	mark = victor.Screen.Mark()
	victor.Type(t, "t")
	victor.Screen.WaitFor(t, mark, sshWait, "viewers cannot trigger runs")
	if rows := listRuns(t, vars); len(rows) != 0 {
		t.Fatalf("a viewer's trigger queued runs: %+v", rows)
	}

	// The operator's trigger runs, and both screens see the run appear.
	focusPane(t, victor, "2")
	vmark := victor.Screen.Mark()
	mark = triggerFromTree(t, olga, "hello")
	olga.Screen.WaitFor(t, mark, sshWait, "queued run #1 of hello")
	olga.Screen.WaitFor(t, mark, sshWait, "Finished (1)")
	victor.Screen.WaitFor(t, vmark, sshWait, "Finished (1)")

	enginetest.Eventually(t, sshWait, func() bool {
		return strings.Contains(scrape(t, s.metrics), `sluice_runs_finished_total{dag="hello",state="success"} 1`)
	}, "the metrics to count the run")

	// Sessions leave; the engine carries on and serves the next one.
	olga.Close()
	victor.Close()
	again := sshtest.Open(t, s.ssh, "olga", op, 160, 45, nil)
	again.Screen.WaitFor(t, 0, sshWait, "Finished (1)")
	if code := s.stop(); code != exitOK {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
	log := s.stderr.String()
	for _, want := range []string{`"msg":"ssh session opened"`, `"role":"viewer"`, `"msg":"ssh key refused"`, `"msg":"engine stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("serve log lacks %s", want)
		}
	}
}

// TestServeWithoutSSHIsHeadless: no --ssh, no listener; the engine runs
// like `sluice run`.
func TestServeWithoutSSHIsHeadless(t *testing.T) {
	t.Parallel()
	dags, state := t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hello", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state}
	s := startServe(t, vars)
	if s.ssh != "" || s.metrics != "" {
		t.Fatalf("headless serve listens: ssh %q metrics %q", s.ssh, s.metrics)
	}
	code, out, errOut := runCmd(context.Background(), vars, "trigger", "hello", "--wait")
	if code != exitOK || !strings.Contains(out, "success") {
		t.Fatalf("trigger: %d %q %q", code, out, errOut)
	}
	if code := s.stop(); code != exitOK {
		t.Fatalf("exit %d", code)
	}
}

func TestServeUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badKeys := filepath.Join(dir, "bad_keys")
	if err := os.WriteFile(badKeys, []byte("role=root ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCfg := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(badCfg, []byte("ssh: :2222\nserve:\n  authorised-keys: /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		code int
		want string
	}{
		{"help", []string{"--help"}, nil, exitOK, "role=viewer ssh-ed25519"},
		{"ssh without keys", []string{"--ssh", "127.0.0.1:0"}, nil, exitUsage, "--ssh needs --authorized-keys"},
		{"bad default role", []string{"--ssh-default-role", "admin"}, nil, exitUsage, `unknown role "admin"`},
		{"invalid keys file", []string{"--ssh", "127.0.0.1:0", "--authorized-keys", badKeys}, nil, exitUsage, `bad_keys:1: unknown role "root"`},
		{"unknown config key", []string{"--config", badCfg}, nil, exitFailed, `sluice.yaml:3: "authorised-keys": is not one of ` + "`sluice serve`'s flags"},
		{"config from the environment", nil, map[string]string{"SLUICE_CONFIG": badCfg}, exitFailed, `"authorised-keys"`},
		{"metrics address taken", []string{"--metrics", "256.0.0.1:1"}, nil, exitUsage, "metrics listener"},
		{"unexpected argument", []string{"now"}, nil, exitUsage, `unexpected argument "now"`},
		{"no idle timeout", []string{"--ssh-idle-timeout", "0s"}, nil, exitUsage, "--ssh-idle-timeout must be positive"},
		{"no connection cap", []string{"--ssh-max-per-source", "-1"}, nil, exitUsage, "--ssh-max-per-source must be positive"},
		{"bad idle timeout in the environment", nil, map[string]string{"SLUICE_SSH_IDLE_TIMEOUT": "soon"}, exitUsage,
			`SLUICE_SSH_IDLE_TIMEOUT: "soon" is not a positive duration`},
		{"bad cap in the environment", nil, map[string]string{"SLUICE_SSH_MAX_CONNECTIONS": "0"}, exitUsage,
			`SLUICE_SSH_MAX_CONNECTIONS: "0" is not a positive integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"SLUICE_SSH_AUTHORIZED_KEYS": "", "SLUICE_STATE_DIR": t.TempDir(), "DAGS_DIR": t.TempDir()}
			for k, v := range tt.vars {
				vars[k] = v
			}
			code, _, errOut := runCmd(context.Background(), vars, append([]string{"serve"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d), stderr:\n%s\nwant %q", code, tt.code, errOut, tt.want)
			}
		})
	}
}

// TestServeReadsTheConfigFile: settings from the file, overridden by the
// environment and the command line.
func TestServeReadsTheConfigFile(t *testing.T) {
	t.Parallel()
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "from_file", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	keys, op, _ := writeKeys(t, dir)
	cfg := filepath.Join(dir, "sluice.yaml")
	body := fmt.Sprintf("dags-dir: %s\nstate-dir: /nonexistent/overridden/by/env\nserve:\n  ssh: 127.0.0.1:0\n  authorized-keys: %s\n  host-key: %s\n",
		dags, keys, filepath.Join(dir, "hostkey"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"SLUICE_STATE_DIR": state, "SLUICE_CONFIG": cfg}
	s := startServe(t, vars, "--metrics", "127.0.0.1:0")
	if s.ssh == "" {
		t.Fatal("the file's ssh setting was not applied")
	}
	if _, err := os.Stat(filepath.Join(dir, "hostkey")); err != nil {
		t.Fatalf("host key not generated where the file says: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, "sluice.db")); err != nil {
		t.Fatalf("the environment's state dir was not used: %v", err)
	}
	c := sshtest.Open(t, s.ssh, "olga", op, 160, 45, nil)
	c.Screen.WaitFor(t, 0, sshWait, "from_file")
}

// The SSH server's bounds come from the config file, the environment and
// the command line: one connection per address (file) and a handshake
// timeout (environment) are enforced on a live server.
func TestServeSSHLimitsAreSettable(t *testing.T) {
	t.Parallel()
	dags, state, dir := t.TempDir(), t.TempDir(), t.TempDir()
	enginetest.WriteDAG(t, dags, "hello", `{"nodes": [{"id": "n", "type": "sluice.noop", "config": {}}]}`)
	keys, op, _ := writeKeys(t, dir)
	cfg := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(cfg, []byte("serve:\n  ssh-max-per-source: 1\n  ssh-idle-timeout: 30m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"DAGS_DIR": dags, "SLUICE_STATE_DIR": state, "SLUICE_CONFIG": cfg,
		"SLUICE_SSH_HANDSHAKE_TIMEOUT": "300ms"}
	s := startServe(t, vars, "--ssh", "127.0.0.1:0", "--authorized-keys", keys)

	// A connection that never says a word is closed by the handshake
	// timeout, freeing the address's one place.
	idle, err := net.Dial("tcp", s.ssh)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_ = idle.SetReadDeadline(time.Now().Add(sshWait))
	if _, err := io.Copy(io.Discard, idle); err != nil {
		t.Fatalf("the server did not close a silent connection: %v", err)
	}
	c := sshtest.Open(t, s.ssh, "olga", op, 160, 45, nil)
	c.Screen.WaitFor(t, 0, sshWait, "hello")
	// The address's one place is taken: a second connection is closed.
	if _, err := sshtest.Dial(s.ssh, "olga", op); err == nil {
		t.Fatal("a second connection from one address was admitted with ssh-max-per-source: 1")
	}
	// config check says where each came from.
	code, out, errOut := runCmd(context.Background(), vars, "config", "check", "--json", "serve")
	if code != exitOK {
		t.Fatalf("config check: %d %s", code, errOut)
	}
	var report struct {
		Commands []struct {
			Settings []struct{ Name, Value, Source string }
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil || len(report.Commands) != 1 {
		t.Fatalf("config check --json: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, st := range report.Commands[0].Settings {
		got[st.Name] = st.Value + " from " + st.Source
	}
	for name, want := range map[string]string{
		"ssh-idle-timeout":      "30m0s from file " + cfg + ":3",
		"ssh-max-per-source":    "1 from file " + cfg + ":2",
		"ssh-handshake-timeout": "300ms from env SLUICE_SSH_HANDSHAKE_TIMEOUT",
		"ssh-max-connections":   "256 from default",
	} {
		if got[name] != want {
			t.Errorf("config check: %s = %q, want %q", name, got[name], want)
		}
	}
}
