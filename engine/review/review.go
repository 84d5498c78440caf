// Package review turns what the metapipeline proposes into review items a
// human confirms: git branches staged in a scratch clone of the dbt
// repository (unused models removed, exposures regenerated) and lists of stale
// BI reports to archive. Approving pushes the branch and opens a pull
// request, or archives the reports; rejecting drops the local branch.
//
// The user's own checkout is only ever read: every branch is built in a bare
// clone under the state dir, straight in its object store, and nothing is
// force-pushed.
package review

import (
	"errors"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Kind says what a review item proposes.
type Kind string

// Kinds of review items.
const (
	KindDeprecate Kind = "deprecate" // a branch removing unused dbt models
	KindExposures Kind = "exposures" // a branch writing regenerated dbt exposures
	KindArchive   Kind = "archive"   // stale BI reports to archive
	// The second phases: after a quiet period with no new consumer, the
	// deprecated models are deleted and the archived reports too.
	KindDelete        Kind = "delete"         // a branch deleting models a merged deprecation disabled
	KindDeleteReports Kind = "delete-reports" // archived BI reports to delete
)

// IsBranch reports whether items of this kind carry a git branch.
func (k Kind) IsBranch() bool { return k == KindDeprecate || k == KindExposures || k == KindDelete }

// HasModels reports whether items of this kind propose dbt models, which a
// reviewer may take out one by one.
func (k Kind) HasModels() bool { return k == KindDeprecate || k == KindDelete }

// State is where an item stands: the read model's review state, so the
// read model needs no mapping.
type State = api.ReviewState

// Sentinel errors callers act on.
var (
	ErrNotFound       = errors.New("review item not found")
	ErrConflict       = errors.New("review item changed concurrently")
	ErrState          = errors.New("review item is not in a state that allows this")
	ErrNonFastForward = errors.New("push rejected: the remote branch is not an ancestor (non-fast-forward); nothing was forced")
	ErrNoRemote       = errors.New("no remote to push to: the dbt repository has no origin and no remote is configured")
	ErrNoArchiver     = errors.New("no BI client configured to archive reports")
	ErrNoDeleter      = errors.New("no BI client configured that deletes reports")
	ErrPRExists       = errors.New("a pull request already exists for this branch")
	ErrDeleteCap      = errors.New("deprecation refused by the safety cap")
	ErrBlocked        = errors.New("the branch would break the dbt project")
	ErrDBTParse       = errors.New("dbt parse refuses the branch")
)

// Item is one proposal awaiting a human, with everything needed to act on
// it and to show it.
type Item struct {
	ID    int64
	Kind  Kind
	State State
	Title string

	// Branch items.
	Branch string `json:",omitempty"` // sluice/deprecate-20260102-abc1234
	// Repo is the dbt repository the branch was staged from (its scratch
	// clone holds the branch); Remote, GitHubRepo and GitHubAPI say where
	// approving sends it, as configured at staging.
	Repo       string `json:",omitempty"`
	Remote     string `json:",omitempty"` // push URL, without credentials
	GitHubRepo string `json:",omitempty"` // owner/repo; "" when none
	GitHubAPI  string `json:",omitempty"`
	BaseBranch string `json:",omitempty"` // the branch the pull request targets
	Base       string `json:",omitempty"` // base commit hash
	Commit     string `json:",omitempty"` // the staged commit
	// Rebuild is how Commit was made, so an instance whose scratch clone
	// lacks the branch rebuilds the same commit (rebuild.go); dropped once
	// the branch is on the remote for good (pushed, pull request open).
	Rebuild  *Recipe      `json:",omitempty"`
	Files    []FileChange `json:",omitempty"`
	Diff     string       `json:"-"` // unified diff; stored in its own column
	PRNumber int          `json:",omitempty"`
	URL      string       `json:",omitempty"` // pull request URL once opened
	Checks   string       `json:",omitempty"` // the pull request's checks: success, failure, pending

	// Subjects are the models (deprecate), exposures (exposures) or reports
	// (archive) the item touches.
	Subjects []Subject
	// Notes are things the staging noticed but could not do (a candidate's
	// file missing on the base branch, a YAML entry not found).
	Notes []string `json:",omitempty"`

	// Fingerprint identifies the proposal's content across runs: a re-run
	// that proposes the same thing finds the existing item by it.
	Fingerprint string
	Error       string `json:",omitempty"` // the last failure, cleared on success
	// Blocked lists, file:line, what the branch would break; set with
	// api.ReviewBlocked.
	Blocked []string `json:",omitempty"`
	// RejectReason is what the person who rejected the item said.
	RejectReason string `json:",omitempty"`
	// Mode is how a deprecate item takes its models out (a Deprecate*
	// mode); Follows links a second-phase item to the first.
	Mode    string `json:",omitempty"`
	Follows int64  `json:",omitempty"`
	// Candidates are the models as proposed, with their files as the branch
	// leaves them (a deprecated/ folder), for re-staging and phase two.
	Candidates []Candidate `json:",omitempty"`
	// Excluded are the models a reviewer took out of the branch: only this
	// time, or kept for good (a keep rule no later run overrides).
	Excluded []Exclusion `json:",omitempty"`
	// Withdrawn marks a rejected item that a later run dropped (no longer
	// proposed), as opposed to one a person declined.
	Withdrawn bool `json:",omitempty"`
	// Approving is who took the approval of an item in state approved.
	Approving *ApprovalClaim `json:",omitempty"`
	History   []Event
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version increments on every update; the store refuses an update based
	// on an older version (ErrConflict), so two processes never both act.
	Version int64
}

// Exclusion is a model taken out of an item by a reviewer.
type Exclusion struct {
	ID, Name string
	Keep     bool   // for good: never proposed again
	Reason   string `json:",omitempty"`
	At       time.Time
}

// FileChange is one file a branch item changes.
type FileChange struct {
	Path   string
	Action string // added, modified, deleted
}

// File change actions.
const (
	FileAdded    = "added"
	FileModified = "modified"
	FileDeleted  = "deleted"
)

// Subject is a model, exposure or report an item touches.
type Subject struct {
	ID         string // dbt unique_id, exposure name or report token
	Name       string
	Reason     string
	Importance float64   `json:",omitempty"`
	Files      []string  `json:",omitempty"`
	Evidence   *Evidence `json:",omitempty"` // deprecation candidates
	// Result of acting on it (archive items): "archived", or the error.
	Result string `json:",omitempty"`
}

// Evidence is why a model is proposed: the read model's type, so the
// pane needs no mapping.
type Evidence = api.ReviewEvidence

// Subject results of archive and delete-reports items.
const (
	ResultArchived = "archived"
	ResultDeleted  = "deleted"
)

// Event is one entry of an item's history.
type Event struct {
	At    time.Time
	State State
	Note  string
}

// FilePaths returns the paths of the changed files.
func (it *Item) FilePaths() []string {
	out := make([]string, len(it.Files))
	for i, f := range it.Files {
		out[i] = f.Path
	}
	return out
}
