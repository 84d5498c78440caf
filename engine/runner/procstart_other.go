//go:build !linux

package runner

import (
	"errors"
	"syscall"
)

// processStart reports whether a process exists. Without /proc there is no
// portable start time, so ticks is always 0 and a recycled pid is not told
// apart.
func processStart(pid int) (ticks int64, ok bool, err error) {
	err = syscall.Kill(pid, 0)
	if err == nil || errors.Is(err, syscall.EPERM) {
		return 0, true, nil
	}
	if errors.Is(err, syscall.ESRCH) {
		return 0, false, nil
	}
	return 0, false, err
}
