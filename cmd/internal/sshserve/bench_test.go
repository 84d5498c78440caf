package sshserve_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
)

// idleFlood is the number of idle, unauthenticated loopback sockets of
// the benchmark. They are dialled by a child process (this test binary
// again, see TestIdleFloodHelper), as a real flood comes from elsewhere:
// the server's process holds one descriptor per admitted socket, the
// child one per socket. SLUICE_BENCH_IDLE_FLOOD sets another number (the
// issue's 10,000 fits a hard descriptor limit of 20,000).
var idleFlood = func() int {
	if n, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_IDLE_FLOOD")); err == nil && n > 0 {
		return n
	}
	return 2000
}()

// BenchmarkIdleUnauthenticatedFlood measures the server while idleFlood
// sockets sit idle without a word, with the caps off (the server before
// issue 18) and with the default limits: the descriptors and heap the
// server holds for them, and an operator's latency from dial to the first
// screen of the console.
//
//	go test -run '^$' -bench IdleUnauthenticated -benchtime 20x ./cmd/internal/sshserve/
func BenchmarkIdleUnauthenticatedFlood(b *testing.B) {
	raiseFDLimit(b, uint64(idleFlood+1024))
	uncapped := sshserve.Limits{HandshakeTimeout: time.Hour, MaxConnections: 1 << 30, MaxUnauthenticated: 1 << 30, MaxPerSource: 1 << 30}
	for _, tc := range []struct {
		name   string
		limits sshserve.Limits
	}{{"uncapped", uncapped}, {"default-limits", sshserve.Limits{}}} {
		b.Run(tc.name, func(b *testing.B) {
			f := setupWith(b, func(c *sshserve.Config) { c.Limits = tc.limits })
			runtime.GC()
			fdsBefore, heapBefore := openFDs(b), liveHeap()
			floodFrom(b, "127.0.0.1", f.addr, idleFlood)
			st := waitStats(b, f.srv, func(s sshserve.ConnStats) bool { return s.Open+s.Refused >= idleFlood })
			runtime.GC()
			fds := openFDs(b) - fdsBefore
			heap := float64(int64(liveHeap())-int64(heapBefore)) / (1 << 20)
			for b.Loop() {
				login(b, f)
			}
			// Reported after the loop: b.Loop resets the timer, which drops
			// metrics reported before.
			b.ReportMetric(float64(fds), "server-fds")
			b.ReportMetric(heap, "server-heap-MiB")
			b.ReportMetric(float64(st.Open), "admitted")
		})
	}
}

// floodFrom starts a child process that opens n idle connections from
// source to addr and holds them until the benchmark ends.
func floodFrom(b *testing.B, source, addr string, n int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleFloodHelper$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "SLUICE_FLOOD_HELPER="+source+" "+addr+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the helper's cue to close its sockets and exit
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "flooding\n" {
		b.Fatalf("flood helper: %q, %v", line, err)
	}
}

// TestIdleFloodHelper is the benchmark's flood process (skipped in a
// normal test run): it opens the idle connections SLUICE_FLOOD_HELPER
// names ("SOURCE ADDR N"), says "flooding", and holds them until its
// standard input closes.
func TestIdleFloodHelper(t *testing.T) {
	spec := os.Getenv("SLUICE_FLOOD_HELPER")
	if spec == "" {
		t.Skip("the benchmark's flood process")
	}
	var source, addr string
	var n int
	if _, err := fmt.Sscan(spec, &source, &addr, &n); err != nil {
		t.Fatalf("SLUICE_FLOOD_HELPER=%q: %v", spec, err)
	}
	raiseFDLimit(t, uint64(n+256))
	conns := idle(t, source, addr, n)
	fmt.Println("flooding")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// login dials from another host, opens the console and waits for its
// first screen, then leaves.
func login(b *testing.B, f *fixture) {
	conn := dialFrom(b, "127.0.0.2", f.addr)
	cc, chans, reqs, err := gossh.NewClientConn(conn, f.addr, &gossh.ClientConfig{
		User: "olga", Auth: []gossh.AuthMethod{gossh.PublicKeys(f.operator)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		b.Fatalf("login during the flood: %v", err)
	}
	c, err := sshtest.Start(gossh.NewClient(cc, chans, reqs), 160, 45, nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	c.Screen.WaitFor(b, 0, wait, "daily_etl")
	c.Close()
}

// openFDs counts this process's socket descriptors: the pipes and pidfd
// of the flood's child process are not the server's.
func openFDs(b *testing.B) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Skipf("counting descriptors: %v", err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// raiseFDLimit lifts the soft descriptor limit towards the hard one; the
// benchmark is skipped when even the hard limit is too low.
func raiseFDLimit(b testing.TB, need uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("reading the descriptor limit: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		b.Skipf("descriptor limit %d (hard %d) below the %d the flood needs", lim.Cur, lim.Max, need)
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("raising the descriptor limit: %v", err)
	}
}
