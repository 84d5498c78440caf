//go:build !unix

package review

import "os"

// lockDir only creates dir where advisory locks are not available; the
// service's mutex still serialises work within the process.
func lockDir(dir string) (func(), error) {
	return func() {}, os.MkdirAll(dir, 0o755)
}
