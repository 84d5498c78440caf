package sshserve

import (
	"fmt"
	"os"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/engine/access"
)

// keyFile is the authorized keys file, re-read when its size or
// modification time changes: revoking a key takes effect at the next login
// without a restart. While the file is unreadable or invalid every login
// is refused — the last good version may still list the revoked key.
type keyFile struct {
	path        string
	defaultRole access.Role

	mu    sync.Mutex
	keys  *AuthorizedKeys
	err   error
	size  int64
	mtime time.Time
}

func newKeyFile(path string, defaultRole access.Role) (*keyFile, error) {
	kf := &keyFile{path: path, defaultRole: defaultRole}
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if err := kf.refreshLocked(); err != nil {
		return nil, err
	}
	return kf, nil
}

func (kf *keyFile) refreshLocked() error {
	fi, err := os.Stat(kf.path)
	if err != nil {
		kf.keys, kf.err = nil, fmt.Errorf("authorized keys: %w", err)
		kf.size, kf.mtime = -1, time.Time{}
		return kf.err
	}
	if kf.keys != nil && fi.Size() == kf.size && fi.ModTime().Equal(kf.mtime) {
		return nil
	}
	keys, err := LoadAuthorizedKeys(kf.path, kf.defaultRole)
	kf.keys, kf.err = keys, err
	kf.size, kf.mtime = fi.Size(), fi.ModTime()
	if err != nil {
		kf.keys = nil
	}
	return err
}

// lookup finds a key in the file as it is now.
func (kf *keyFile) lookup(k gossh.PublicKey) (AuthorizedKey, bool, error) {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if err := kf.refreshLocked(); err != nil {
		return AuthorizedKey{}, false, err
	}
	ak, ok := kf.keys.Lookup(k)
	return ak, ok, nil
}

func (kf *keyFile) count() int {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	return kf.keys.Len()
}
