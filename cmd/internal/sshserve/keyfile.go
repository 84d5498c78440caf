package sshserve

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/sluice-dev/sluice/engine/access"
)

// keyFile is the authorized keys file, re-read when its size or
// modification time changes (at every login) and when the server's watch
// sees it change: revoking a key takes effect without a restart. While the
// file is unreadable or invalid every login is refused — the last good
// version may still list the revoked key. Every reload is logged, and so
// is a broken file becoming valid again.
type keyFile struct {
	path        string
	defaultRole access.Role
	log         *slog.Logger
	// onChange is called, outside the lock, after a reload that read the
	// file anew or found it broken: the server then checks its open
	// sessions against it.
	onChange func()

	mu    sync.Mutex
	keys  *AuthorizedKeys
	err   error
	size  int64
	mtime time.Time
}

func newKeyFile(path string, defaultRole access.Role, log *slog.Logger) (*keyFile, error) {
	kf := &keyFile{path: path, defaultRole: defaultRole, log: log}
	kf.mu.Lock()
	defer kf.mu.Unlock()
	if _, err := kf.refreshLocked(false); err != nil {
		return nil, err
	}
	return kf, nil
}

// refreshLocked re-reads the file when it changed, or always with force
// (the watch saw it written, possibly within one mtime tick). changed
// reports a reload or a change between valid and broken.
func (kf *keyFile) refreshLocked(force bool) (changed bool, err error) {
	wasBroken := kf.err != nil
	fi, err := os.Stat(kf.path)
	if err != nil {
		err = fmt.Errorf("authorized keys: %w", err)
		changed = kf.keys != nil || kf.err == nil || kf.err.Error() != err.Error()
		kf.keys, kf.err = nil, err
		kf.size, kf.mtime = -1, time.Time{}
		if changed && kf.log != nil {
			kf.log.Error("authorized keys unreadable: refusing every login", "path", kf.path, "err", err)
		}
		return changed, err
	}
	if !force && kf.keys != nil && fi.Size() == kf.size && fi.ModTime().Equal(kf.mtime) {
		return false, nil
	}
	if !force && kf.keys == nil && kf.err != nil && fi.Size() == kf.size && fi.ModTime().Equal(kf.mtime) {
		return false, kf.err // still the same broken file
	}
	keys, err := LoadAuthorizedKeys(kf.path, kf.defaultRole)
	kf.size, kf.mtime = fi.Size(), fi.ModTime()
	if err != nil {
		changed = kf.err == nil || kf.err.Error() != err.Error()
		kf.keys, kf.err = nil, err
		if changed && kf.log != nil {
			kf.log.Error("authorized keys invalid: refusing every login until it is fixed", "path", kf.path, "err", err)
		}
		return changed, err
	}
	kf.keys, kf.err = keys, nil
	if kf.log != nil {
		if wasBroken {
			kf.log.Info("authorized keys valid again", "path", kf.path, "keys", keys.Len())
		} else {
			kf.log.Info("authorized keys reloaded", "path", kf.path, "keys", keys.Len())
		}
	}
	return true, nil
}

// reload re-reads the file (force: whatever its size and time say) and
// lets the server check its sessions when anything changed.
func (kf *keyFile) reload(force bool) {
	kf.mu.Lock()
	changed, _ := kf.refreshLocked(force)
	kf.mu.Unlock()
	if changed && kf.onChange != nil {
		kf.onChange()
	}
}

// lookup finds a key in the file as it is now.
func (kf *keyFile) lookup(k gossh.PublicKey) (AuthorizedKey, bool, error) {
	kf.mu.Lock()
	changed, err := kf.refreshLocked(false)
	var ak AuthorizedKey
	var ok bool
	if err == nil {
		ak, ok = kf.keys.Lookup(k)
	}
	kf.mu.Unlock()
	if changed && kf.onChange != nil {
		kf.onChange()
	}
	return ak, ok, err
}

// current is the file as last read, without reading it again.
func (kf *keyFile) current() (*AuthorizedKeys, error) {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	return kf.keys, kf.err
}

func (kf *keyFile) count() int {
	kf.mu.Lock()
	defer kf.mu.Unlock()
	return kf.keys.Len()
}
