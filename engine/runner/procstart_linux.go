package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// processStart reads a live process's start time (/proc/<pid>/stat field
// 22, clock ticks since boot): with the pid it names one process for good,
// as pids are recycled. ok is false when the process is gone or a zombie.
func processStart(pid int) (ticks int64, ok bool, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// A process that exits between open and read answers ESRCH: it is as
	// gone as one whose /proc entry is missing.
	if os.IsNotExist(err) || errors.Is(err, syscall.ESRCH) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after it start at the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false, fmt.Errorf("parsing /proc/%d/stat: no command name", pid)
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, false, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	if st := fields[0]; len(st) == 1 && (st[0] == 'Z' || st[0] == 'X') {
		// Dead, waiting to be reaped (a reaper that never reaps keeps it).
		return 0, false, nil
	}
	ticks, err = strconv.ParseInt(string(fields[19]), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parsing /proc/%d/stat start time: %w", pid, err)
	}
	return ticks, true, nil
}
