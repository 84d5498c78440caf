package sshserve_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
	"github.com/sluice-dev/sluice/engine/enginetest"
)

// dialFrom opens a TCP connection to addr from the loopback address
// source (Linux routes all of 127/8 to lo), so one test plays several
// remote hosts.
func dialFrom(t testing.TB, source, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing %s from %s: %v", addr, source, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// idle opens n connections from source that never say a word.
func idle(t testing.TB, source, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialFrom(t, source, addr)
	}
	return conns
}

// greeting reads what the server says first: its SSH banner when the
// connection was admitted, nothing (EOF) when it was refused.
func greeting(t *testing.T, c net.Conn) (banner string, closed bool) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var buf bytes.Buffer
	b := make([]byte, 256)
	for {
		n, err := c.Read(b)
		buf.Write(b[:n])
		if bytes.Contains(buf.Bytes(), []byte("\n")) {
			return buf.String(), false
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return buf.String(), true
			}
			t.Fatalf("reading the greeting: %v (read %q)", err, buf.String())
		}
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// waitClosed reads c until the server closes it.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Fatalf("the server did not close an idle connection: %v", err)
	}
}

func waitStats(t testing.TB, srv *sshserve.Server, ok func(sshserve.ConnStats) bool) sshserve.ConnStats {
	t.Helper()
	var st sshserve.ConnStats
	if !enginetest.Poll(wait, func() bool {
		st = srv.ConnStats()
		return ok(st)
	}) {
		t.Fatalf("connection counts never settled: %+v", st)
	}
	return st
}

// TestConnectionCaps floods the server with idle, unauthenticated sockets
// from one host and then from others: past each cap, connections are
// closed before the banner, while an operator from elsewhere logs in and
// uses the console.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sshserve.Config) {
		c.Limits = sshserve.Limits{HandshakeTimeout: time.Minute, MaxConnections: 10, MaxUnauthenticated: 8, MaxPerSource: 5}
	})

	// One host: 5 admitted, the 6th refused by the per-source cap.
	flood := idle(t, "127.0.0.1", f.addr, 5)
	for _, c := range flood {
		if banner, closed := greeting(t, c); closed || !bytes.HasPrefix([]byte(banner), []byte("SSH-2.0-")) {
			t.Fatalf("an admitted connection got %q (closed %v)", banner, closed)
		}
	}
	if banner, closed := greeting(t, dialFrom(t, "127.0.0.1", f.addr)); !closed || banner != "" {
		t.Fatalf("past the per-source cap: got %q, closed %v; want closed before the banner", banner, closed)
	}

	// An operator from another host still gets in: the flood holds 5 of 8
	// unauthenticated places.
	op, err := dialSSHFrom(t, "127.0.0.2", f.addr, "olga", f.operator)
	if err != nil {
		t.Fatalf("an operator could not log in during the flood: %v", err)
	}
	c, err := sshtest.Start(op, 160, 45, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Screen.WaitFor(t, 0, wait, "daily_etl")
	waitStats(t, f.srv, func(s sshserve.ConnStats) bool { return s.Open == 6 && s.Unauthenticated == 5 })

	// Three more hosts fill the unauthenticated cap (8); the next is refused.
	idle(t, "127.0.0.3", f.addr, 3)
	waitStats(t, f.srv, func(s sshserve.ConnStats) bool { return s.Unauthenticated == 8 })
	if _, closed := greeting(t, dialFrom(t, "127.0.0.4", f.addr)); !closed {
		t.Fatal("past the unauthenticated cap, a connection was admitted")
	}

	// The flood ends: its places come back, the session stays.
	for _, c := range flood {
		c.Close()
	}
	waitStats(t, f.srv, func(s sshserve.ConnStats) bool { return s.Open == 4 && s.Unauthenticated == 3 })
	f.eng.addRun("after_flood")
	c.Screen.WaitFor(t, 0, wait, "after_flood")
	if st := f.srv.ConnStats(); st.Refused != 2 {
		t.Errorf("refused = %d, want 2", st.Refused)
	}
}

// TestTotalConnectionCap: logged-in sessions count against the total cap.
func TestTotalConnectionCap(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sshserve.Config) {
		c.Limits = sshserve.Limits{HandshakeTimeout: time.Minute, MaxConnections: 3, MaxUnauthenticated: 8, MaxPerSource: 8}
	})
	for range 2 {
		c := sshtest.Open(t, f.addr, "olga", f.operator, 100, 30, nil)
		c.Screen.WaitFor(t, 0, wait, "daily_etl")
	}
	idle(t, "127.0.0.1", f.addr, 1)
	waitStats(t, f.srv, func(s sshserve.ConnStats) bool { return s.Open == 3 })
	if _, closed := greeting(t, dialFrom(t, "127.0.0.2", f.addr)); !closed {
		t.Fatal("past the total cap, a connection was admitted")
	}
}

// TestHandshakeTimeout: sockets that never finish the handshake are closed
// after the timeout; a session that logged in is not.
func TestHandshakeTimeout(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sshserve.Config) {
		c.Limits = sshserve.Limits{HandshakeTimeout: 300 * time.Millisecond}
	})
	c := sshtest.Open(t, f.addr, "olga", f.operator, 160, 45, nil)
	c.Screen.WaitFor(t, 0, wait, "daily_etl")
	start := time.Now()
	for _, conn := range idle(t, "127.0.0.1", f.addr, 4) {
		waitClosed(t, conn)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("idle connections closed after %s, before the timeout", d)
	}
	st := waitStats(t, f.srv, func(s sshserve.ConnStats) bool { return s.Open == 1 })
	if st.TimedOut != 4 || st.Unauthenticated != 0 {
		t.Errorf("stats %+v: want 4 timed out, none unauthenticated", st)
	}
	f.eng.addRun("still_here")
	c.Screen.WaitFor(t, 0, wait, "still_here")
}

func dialSSHFrom(t testing.TB, source, addr, user string, key gossh.Signer) (*gossh.Client, error) {
	t.Helper()
	conn := dialFrom(t, source, addr)
	cc, chans, reqs, err := gossh.NewClientConn(conn, addr, &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	client := gossh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client, nil
}
