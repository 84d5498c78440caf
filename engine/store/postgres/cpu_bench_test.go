package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuMeter reads the CPU time spent so far by this process and by the
// PostgreSQL server's processes (postmaster, backends, WAL writer…: one
// postmaster and its children). On a shared box the CPU a run costs is
// steadier than the runs per second it gets.
type cpuMeter struct{ postmaster int }

// newCPUMeter finds the server's postmaster through a backend of pool;
// 0 (server CPU unknown) when /proc cannot say.
func newCPUMeter(ctx context.Context, pool *pgxpool.Pool) cpuMeter {
	var pid int
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return cpuMeter{}
	}
	f, ok := procStat(strconv.Itoa(pid))
	if !ok {
		return cpuMeter{}
	}
	ppid, _ := strconv.Atoi(f[1])
	return cpuMeter{postmaster: ppid}
}

// read returns the client's and the server's CPU time so far.
func (m cpuMeter) read() (client, server time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if m.postmaster == 0 {
		return client, 0
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var ticks int64
	pm := strconv.Itoa(m.postmaster)
	for _, d := range dirs {
		pid := filepath.Base(d)
		f, ok := procStat(pid)
		if !ok || pid != pm && f[1] != pm {
			continue
		}
		fields := []int{11, 12} // utime, stime
		if pid == pm {
			fields = append(fields, 13, 14) // and its exited children's
		}
		for _, i := range fields {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return client, time.Duration(ticks) * (time.Second / 100) // USER_HZ
}

// procStat returns the fields of /proc/pid/stat after the command name:
// [0] is the state, [1] the parent, [11]… utime, stime, cutime, cstime.
func procStat(pid string) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	return f, len(f) > 14
}
