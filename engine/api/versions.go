package api

import "time"

// DAGVersion is one distinct content of a DAG's file that loaded: numbered
// per DAG from 1 in the order first seen.
type DAGVersion struct {
	DAG       string    `json:"dag"`
	Version   int       `json:"version"`
	SHA256    string    `json:"sha256"`
	Source    string    `json:"source"` // the file it was read from
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Origin is, for a DAG from a git source, the commit this content was
	// first loaded from: who changed the file, and why. Nil for the other
	// sources.
	Origin *Commit `json:"origin,omitempty"`
	// Content is the file's bytes; only single-version reads carry it.
	Content []byte `json:"-"`
	// Current: the file holds this version now.
	Current bool `json:"current,omitempty"`
	// Pinned: the engine runs this version whatever the file says.
	Pinned bool `json:"pinned,omitempty"`
}

// DAGPin says an operator pinned a DAG to one of its versions.
type DAGPin struct {
	Version int       `json:"version"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// DefaultKeepVersions is how many versions of each DAG the store keeps
// (the newest seen; a pinned one, and one a queued or running run still
// runs, is always kept).
const DefaultKeepVersions = 50
