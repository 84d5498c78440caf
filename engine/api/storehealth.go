package api

import "time"

// StoreHealth is whether the engine's store accepts writes. A store that
// refuses them (a full disk, a lost database) holds runs back: queued runs
// wait in order, finished runs keep retrying their final commit, so
// nothing runs twice and nothing is lost. The console says so loudly.
type StoreHealth struct {
	// Error is the last write failure; empty while writes succeed.
	Error string `json:",omitempty"`
	// DiskFull: the failure is a full disk (or database quota).
	DiskFull bool      `json:",omitempty"`
	Since    time.Time `json:",omitzero"` // first failure of this outage
}

// Problem is the one-line alarm for the status line: "" while the store
// is healthy, "store: disk full" or "store: <error>" otherwise.
func (h StoreHealth) Problem() string {
	switch {
	case h.DiskFull:
		return "store: disk full"
	case h.Error != "":
		return "store: " + h.Error
	}
	return ""
}
