//go:build unix

package fslock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Dir takes an exclusive advisory lock on dir/lock (creating dir), waiting
// for it: the engine and a CLI command sharing a state dir never write the
// same scratch clone or git mirror at once. The lock goes with the process
// if it dies.
func Dir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
