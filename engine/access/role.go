// Package access enforces who may do what at the api.API boundary. A
// front end (an SSH session, a console) is handed Restrict(api, role)
// instead of the engine itself, so a refused action is refused no matter
// which key sequence, pane or bug led to the call.
package access

import (
	"fmt"
	"strings"
)

// Role is what an operator may do.
type Role string

// Roles. An operator may do everything; a viewer may look and rescan, but
// not trigger, cancel, run the metapipeline, approve, reject or pause.
const (
	Operator Role = "operator"
	Viewer   Role = "viewer"
)

// Roles lists every role, for help texts and validation.
var Roles = []Role{Operator, Viewer}

// ParseRole reads a role name, case-insensitively. Anything else is an
// error: an unknown role must never fall back to more power.
func ParseRole(s string) (Role, error) {
	switch Role(strings.ToLower(strings.TrimSpace(s))) {
	case Operator:
		return Operator, nil
	case Viewer:
		return Viewer, nil
	}
	return "", fmt.Errorf("unknown role %q (want operator or viewer)", s)
}

// String implements fmt.Stringer.
func (r Role) String() string { return string(r) }

// Action is something the engine API lets a front end change.
type Action int

// Actions that change state. Reading (Snapshot, Subscribe) and rescanning
// are not actions: every role may do them.
const (
	ActionTrigger Action = iota
	ActionCancel
	ActionRunMeta
	ActionApprove
	ActionReject
	ActionPauseSensor
	ActionResumeSensor
	ActionRerun
	ActionMark
	ActionPauseDAG
	ActionUnpauseDAG
	ActionPinDAG
	ActionUnpinDAG
	ActionBackfill
	ActionCancelBackfill
	ActionExclude
	ActionUnreject
	ActionReplayBatch
	ActionResetOffsets
)

// phrase is the action as it reads after "cannot".
var phrase = map[Action]string{
	ActionTrigger:        "trigger runs",
	ActionCancel:         "cancel runs",
	ActionRunMeta:        "run the metapipeline",
	ActionApprove:        "approve reviews",
	ActionReject:         "reject reviews",
	ActionPauseSensor:    "pause sensors",
	ActionResumeSensor:   "resume sensors",
	ActionRerun:          "re-run runs",
	ActionMark:           "mark runs",
	ActionPauseDAG:       "pause dags",
	ActionUnpauseDAG:     "unpause dags",
	ActionPinDAG:         "pin dag versions",
	ActionUnpinDAG:       "unpin dags",
	ActionBackfill:       "backfill dags",
	ActionCancelBackfill: "cancel backfills",
	ActionExclude:        "change what a review proposes",
	ActionUnreject:       "undo review rejections",
	ActionReplayBatch:    "replay batches",
	ActionResetOffsets:   "reset consumer group offsets",
}

// String implements fmt.Stringer.
func (a Action) String() string {
	if p, ok := phrase[a]; ok {
		return p
	}
	return fmt.Sprintf("action %d", int(a))
}

// Allows reports whether a role may take an action. Unknown roles may do
// nothing.
func (r Role) Allows(a Action) bool {
	switch r {
	case Operator:
		return true
	default:
		return false
	}
}
