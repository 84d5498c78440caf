package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine/enginetest"
)

// tmuxSession drives the real binary in a real terminal: a private tmux
// server (its own socket), one session of a fixed size.
type tmuxSession struct {
	t    *testing.T
	sock string
	name string
}

func (s *tmuxSession) tmux(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tmux", append([]string{"-S", s.sock}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// screen is what a user sees now: the pane's text, colours stripped.
func (s *tmuxSession) screen() string {
	out, err := s.tmux("capture-pane", "-p", "-t", s.name)
	if err != nil {
		return ""
	}
	return out
}

func (s *tmuxSession) send(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		if out, err := s.tmux("send-keys", "-t", s.name, k); err != nil {
			s.t.Fatalf("send-keys %q: %v: %s", k, err, out)
		}
	}
}

// waitFor polls the screen until ok says yes, failing after the deadline
// with what the screen showed last.
func (s *tmuxSession) waitFor(what string, timeout time.Duration, ok func(string) bool) string {
	s.t.Helper()
	var scr string
	if !enginetest.Poll(timeout, func() bool {
		scr = s.screen()
		return ok(scr)
	}) {
		enginetest.TimedOut(s.t, timeout, what+"; the screen shows:\n"+scr)
	}
	return scr
}

func (s *tmuxSession) waitText(timeout time.Duration, texts ...string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", texts), timeout, func(scr string) bool {
		for _, t := range texts {
			if !strings.Contains(scr, t) {
				return false
			}
		}
		return true
	})
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestConsoleEndToEndInTmux runs `sluice demo` — what `make demo` runs — in
// tmux and uses it like a person: look for the demo DAGs from both
// sources, filter, force a rescan, watch a run succeed, open it, quit.
func TestConsoleEndToEndInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end console test skipped in -short mode")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the end-to-end console test needs it (apt-get install tmux; .ci/run installs it)")
	}
	bin := buildBinary(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock"), name: "sluice-e2e"}
	exitFile := filepath.Join(dir, "exit")
	// The shell records the exit code and keeps the window open, so the
	// test sees how the program ended.
	script := fmt.Sprintf("cd %q && %q demo --state-dir %q --dags-dir dags 2>%q; echo $? > %q; sleep 60",
		root, bin, filepath.Join(dir, "state"), filepath.Join(dir, "stderr"), exitFile)
	if out, err := s.tmux("-f", "/dev/null", "new-session", "-d", "-s", s.name, "-x", "120", "-y", "40",
		"env", "TERM=xterm-256color", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = s.tmux("kill-server") })

	// Both sources load: a local demo DAG, then — with the long local
	// source folded away — the S3 source's health line and its DAGs.
	s.waitText(30*time.Second, "▾ local", "[ok]", "heartbeat")
	s.send("Space")
	s.waitText(20*time.Second, "▸ local", "s3://sluice-demo/dags/", "hourly_rollup", "train_model")
	s.send("Space")
	s.waitText(20*time.Second, "▾ local")

	// Live filter: only the matching DAG is left.
	s.send("/")
	s.waitText(20*time.Second, "type to filter")
	s.send("h", "e", "a", "r", "t")
	scr := s.waitText(20*time.Second, "/ heart", "heartbeat")
	if strings.Contains(scr, "daily_etl") || strings.Contains(scr, "fanout") {
		t.Errorf("the filter left other DAGs on screen:\n%s", scr)
	}
	s.send("Enter")
	s.waitText(20*time.Second, "filter: heart")
	s.send("Escape")
	s.waitText(20*time.Second, "fan_out_fan_in", "daily_etl")

	// Forced rescan: spinner, then the toast with the scan's summary.
	s.send("r")
	s.waitText(15*time.Second, "scanned 2 sources in")

	// The run queue: a demo run reaches success.
	s.send("2")
	s.waitFor("a successful run", 60*time.Second, func(scr string) bool {
		return strings.Contains(scr, "✓ success") && strings.Contains(scr, "demo/")
	})

	// Open the oldest finished run (the last row): its tasks and attempts.
	s.send("G", "Enter")
	s.waitText(20*time.Second, "Tasks (", "TASK", "STATE", "TRY")
	s.send("Escape")
	s.waitText(20*time.Second, "Queued (", "Finished (")

	// Quit: with runs in flight the console asks; then the engine stops
	// and the program exits cleanly.
	s.send("q")
	s.waitFor("the quit dialog or the exit", 20*time.Second, func(scr string) bool {
		_, err := os.Stat(exitFile)
		return strings.Contains(scr, "in flight") || err == nil
	})
	if strings.Contains(s.screen(), "in flight") {
		s.send("y")
	}
	var code string
	if !enginetest.Poll(30*time.Second, func() bool {
		data, err := os.ReadFile(exitFile)
		code = strings.TrimSpace(string(data))
		return err == nil && code != ""
	}) {
		t.Fatalf("sluice demo did not exit after quitting; the screen shows:\n%s", s.screen())
	}
	if code != "0" {
		stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
		t.Fatalf("sluice demo exited with %s; stderr:\n%s", code, stderr)
	}
	stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	if !strings.Contains(string(stderr), "engine stopped") {
		t.Errorf("stderr lacks the clean-stop line:\n%s", stderr)
	}
}
