package sshserve_test

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/cmd/internal/sshserve"
	"github.com/sluice-dev/sluice/cmd/internal/sshserve/sshtest"
)

// idleFlood is the number of idle, unauthenticated loopback sockets of
// the benchmark: each costs two descriptors in this process (client and
// server side), which fits the usual soft limit once raised to the hard
// one, and a 2-core box.
const idleFlood = 2000

// BenchmarkIdleUnauthenticatedFlood measures the server while idleFlood
// sockets sit idle without a word, with the caps off (the server before
// issue 18) and with the default limits: the descriptors and heap the
// server holds for them, and an operator's latency from dial to the first
// screen of the console.
//
//	go test -run '^$' -bench IdleUnauthenticated -benchtime 20x ./cmd/internal/sshserve/
func BenchmarkIdleUnauthenticatedFlood(b *testing.B) {
	raiseFDLimit(b, 4*idleFlood+512)
	uncapped := sshserve.Limits{HandshakeTimeout: time.Hour, MaxConnections: 1 << 30, MaxUnauthenticated: 1 << 30, MaxPerSource: 1 << 30}
	for _, tc := range []struct {
		name   string
		limits sshserve.Limits
	}{{"uncapped", uncapped}, {"default-limits", sshserve.Limits{}}} {
		b.Run(tc.name, func(b *testing.B) {
			f := setupWith(b, func(c *sshserve.Config) { c.Limits = tc.limits })
			runtime.GC()
			fdsBefore, heapBefore := openFDs(b), liveHeap()
			idle(b, "127.0.0.1", f.addr, idleFlood)
			st := waitStats(b, f.srv, func(s sshserve.ConnStats) bool { return s.Open+s.Refused >= idleFlood })
			runtime.GC()
			// The flood's own client sockets are in this process too.
			fds := openFDs(b) - fdsBefore - idleFlood
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

func openFDs(b *testing.B) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		b.Skipf("counting descriptors: %v", err)
	}
	return len(entries)
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// raiseFDLimit lifts the soft descriptor limit towards the hard one; the
// benchmark is skipped when even the hard limit is too low.
func raiseFDLimit(b *testing.B, need uint64) {
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
