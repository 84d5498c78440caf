package sshserve

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sluice-dev/sluice/engine/access"
)

const (
	// keysSettle is how long the authorized keys file must be quiet after
	// a change before it is read: an editor's truncate-then-write must not
	// be read half way (an empty file would end every session).
	keysSettle = 100 * time.Millisecond
	// keysPoll re-checks the file's size and time even without an event
	// (file systems that send none, a symlink swapped underneath).
	keysPoll = 5 * time.Second
)

// watchKeys reloads the authorized keys when the file changes, until ctx
// ends; the returned channel closes when the watch has stopped. It watches
// the directory: editors and config managers replace the file rather than
// write it in place.
func (s *Server) watchKeys(ctx context.Context) <-chan struct{} {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(s.cfg.AuthorizedKeysPath)); err != nil {
			_ = w.Close()
		}
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if err != nil {
		s.log.Warn("not watching the authorized keys file; re-checking it every few seconds and at every login", "err", err, "every", keysPoll)
		w = nil
	} else {
		events, errs = w.Events, w.Errors
	}
	target := filepath.Clean(s.cfg.AuthorizedKeysPath)
	done := make(chan struct{})
	s.life.Go(func() {
		defer close(done)
		if w != nil {
			defer w.Close()
		}
		poll := time.NewTicker(keysPoll)
		defer poll.Stop()
		settle := time.NewTimer(keysSettle)
		settle.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				if filepath.Clean(ev.Name) == target {
					settle.Reset(keysSettle)
				}
			case err := <-errs:
				s.log.Warn("watching the authorized keys file", "err", err)
			case <-settle.C:
				s.keys.reload(true)
			case <-poll.C:
				s.keys.reload(false)
			}
		}
	})
	return done
}

// enforceKeys holds the open sessions to the authorized keys as just
// read: a session whose key is gone, or whose role lost a power, ends
// (told why). A broken file ends nobody — logins are refused until it is
// fixed, and the next valid version is enforced then.
func (s *Server) enforceKeys() {
	keys, err := s.keys.current()
	s.mu.Lock()
	live := make([]*liveSession, 0, len(s.sessions))
	for _, ls := range s.sessions {
		live = append(live, ls)
	}
	s.mu.Unlock()
	if err != nil {
		if len(live) > 0 {
			s.log.Warn("authorized keys broken: open sessions keep their keys' last roles until it is fixed", "sessions", len(live))
		}
		return
	}
	for _, ls := range live {
		log := s.log.With("user", ls.info.User, "remote", ls.info.RemoteAddr, "fingerprint", ls.info.Fingerprint, "key", ls.info.KeyComment)
		ak, ok := keys.Lookup(ls.key)
		switch {
		case !ok:
			log.Info("ssh session ended: its key was removed from the authorized keys")
			ls.end("your key was removed from the authorized keys; this session is closed")
		case demoted(ls.info.Role, ak.Role):
			log.Info("ssh session ended: its key's role was lowered", "from", ls.info.Role, "to", ak.Role)
			ls.end(fmt.Sprintf("your key's role changed from %s to %s; this session is closed — reconnect to continue as %s", ls.info.Role, ak.Role, ak.Role))
		}
	}
}

// demoted reports whether to may not do something from could.
func demoted(from, to access.Role) bool {
	for a := access.ActionTrigger; a <= access.ActionUnreject; a++ {
		if from.Allows(a) && !to.Allows(a) {
			return true
		}
	}
	return false
}
