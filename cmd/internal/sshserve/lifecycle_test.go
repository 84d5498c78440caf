package sshserve_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/enginetest"
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// rewriteKeys rewrites the authorized keys file line by line.
func rewriteKeys(t *testing.T, f *fixture, edit func(line string) string) {
	t.Helper()
	data, err := os.ReadFile(f.keysPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = edit(l); l != "\x00" {
			out = append(out, l)
		}
	}
	if err := os.WriteFile(f.keysPath, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A reload that removes a key ends that key's open session — told why, on
// a restored terminal — and leaves the other sessions be; a broken file
// ends nobody, and its recovery is logged.
func TestRemovedKeyEndsItsOpenSession(t *testing.T) {
	t.Parallel()
	f := setup(t)
	victor := sshtest.Open(t, f.addr, "victor", f.viewer, 120, 40, nil)
	olga := sshtest.Open(t, f.addr, "olga", f.operator, 120, 40, nil)
	victor.Screen.WaitFor(t, 0, wait, "viewer")
	olga.Screen.WaitFor(t, 0, wait, "operator")

	// Broken first: nobody is ended, the break is logged.
	good, err := os.ReadFile(f.keysPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.keysPath, []byte("role=root "+string(good)), 0o600); err != nil {
		t.Fatal(err)
	}
	enginetest.Eventually(t, wait, func() bool {
		return strings.Contains(f.logs.String(), "authorized keys invalid")
	}, "the broken file to be logged")
	if len(f.srv.Sessions()) != 2 {
		t.Fatalf("a broken keys file ended sessions: %d left", len(f.srv.Sessions()))
	}

	// Valid again, without victor: his session ends within the reload,
	// without anybody logging in.
	if err := os.WriteFile(f.keysPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	rewriteKeys(t, f, func(l string) string {
		if strings.Contains(l, "victor@wall") {
			return "\x00"
		}
		return l
	})
	if ended, _ := victor.Wait(wait); !ended {
		t.Fatal("the removed key's session is still open")
	}
	victor.Screen.WaitFor(t, 0, wait, "your key was removed from the authorized keys")
	raw := victor.Screen.Raw(0)
	restored := strings.LastIndex(raw, "\x1b[?1049l") // alternate screen left
	if restored < 0 || restored > strings.LastIndex(raw, "your key was removed") {
		t.Error("the session was not told on a restored terminal")
	}
	// Olga stays.
	if ended, _ := olga.Wait(0); ended {
		t.Fatal("a kept key's session was ended")
	}
	enginetest.Eventually(t, wait, func() bool {
		ss := f.srv.Sessions()
		return len(ss) == 1 && ss[0].User == "olga"
	}, "the server to forget victor's session")
	logs := f.logs.String()
	for _, want := range []string{"authorized keys valid again", "its key was removed from the authorized keys"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// A reload that lowers a key's role ends its operator session: it must not
// keep powers its key no longer has.
func TestDemotedKeyEndsItsOperatorSession(t *testing.T) {
	t.Parallel()
	f := setup(t)
	olga := sshtest.Open(t, f.addr, "olga", f.operator, 120, 40, nil)
	olga.Screen.WaitFor(t, 0, wait, "operator")
	rewriteKeys(t, f, func(l string) string {
		if strings.Contains(l, "olga@ops") {
			return "role=viewer " + l
		}
		return l
	})
	if ended, _ := olga.Wait(wait); !ended {
		t.Fatal("the demoted key's operator session is still open")
	}
	olga.Screen.WaitFor(t, 0, wait, "role changed from operator to viewer")
	if !strings.Contains(f.logs.String(), "authorized keys reloaded") {
		t.Errorf("the reload was not logged:\n%s", f.logs.String())
	}
	// She comes back as a viewer.
	again := sshtest.Open(t, f.addr, "olga", f.operator, 120, 40, nil)
	again.Screen.WaitFor(t, 0, wait, "olga (olga@ops) · viewer (read only)")
}

// Stopping the server (SIGTERM for serve) tells each session, after its
// terminal is restored — alternate screen left, cursor shown — then closes
// it: no client is left on a half-drawn frame.
func TestStopTellsEachSessionOnARestoredTerminal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := sshtest.Open(t, f.addr, "olga", f.operator, 160, 45, nil)
	b := sshtest.Open(t, f.addr, "victor", f.viewer, 100, 30, nil)
	a.Screen.WaitFor(t, 0, wait, "daily_etl")
	b.Screen.WaitFor(t, 0, wait, "viewer")
	f.srv.Stop()
	for _, c := range []*sshtest.Console{a, b} {
		if ended, _ := c.Wait(wait); !ended {
			t.Fatal("a session outlived Stop")
		}
		raw := c.Screen.Raw(0)
		told := strings.LastIndex(raw, "the server is stopping")
		if told < 0 {
			t.Fatalf("the session was not told the server is stopping: %q", tail(raw))
		}
		for _, seq := range []string{"\x1b[?1049l", "\x1b[?25h"} {
			if i := strings.LastIndex(raw, seq); i < 0 || i > told {
				t.Errorf("%q (terminal restored) does not come before the goodbye: %q", seq, tail(raw))
			}
		}
		if after := raw[told:]; strings.Contains(after, "\x1b[?1049h") || strings.Contains(after, "daily_etl") {
			t.Errorf("the console drew after the goodbye: %q", after)
		}
	}
	if !strings.Contains(f.logs.String(), "closed by the server") {
		t.Errorf("the server's ending of sessions was not logged:\n%s", f.logs.String())
	}
}

func tail(s string) string {
	if len(s) > 400 {
		return s[len(s)-400:]
	}
	return s
}

// The server has the engine services' lifecycle: a second Start fails,
// Stop is idempotent, Start after Stop is refused rather than listening
// again, and the end of Start's context stops it as Stop does.
func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if err := f.srv.Start(context.Background()); !errors.Is(err, lifecycle.ErrStarted) {
		t.Fatalf("second Start: %v, want ErrStarted", err)
	}
	f.srv.Stop()
	f.srv.Stop()
	if err := f.srv.Start(context.Background()); !errors.Is(err, lifecycle.ErrStopped) {
		t.Fatalf("Start after Stop: %v, want ErrStopped", err)
	}
	if c, err := net.Dial("tcp", f.addr); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after Stop")
	}

	g := setupWith(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := sshserve.New(g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	c := sshtest.Open(t, addr, "olga", g.operator, 100, 30, nil)
	c.Screen.WaitFor(t, 0, wait, "operator")
	cancel()
	c.Screen.WaitFor(t, 0, wait, "the server is stopping")
	enginetest.Eventually(t, wait, func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err != nil
	}, "the listener to close when Start's context ends")
	srv.Stop()
}
