//go:build !unix

package fslock

import "os"

// Dir only creates dir where advisory locks are not available; callers'
// mutexes still serialise work within the process.
func Dir(dir string) (func(), error) {
	return func() {}, os.MkdirAll(dir, 0o755)
}
