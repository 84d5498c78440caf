// Package notify tells the team's chat and webhooks what the engine sees
// happen: a DAG turning invalid, a run failing, a sensor falling behind, a
// review waiting (issue 17). Events are derived by comparing consecutive
// snapshots, written to the store's outbox before anything is sent, and
// sent to each target in order, with retries, grouping per subject and a
// signature.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Event types, as receivers see them in "type".
const (
	DAGInvalid     = "dag.invalid"
	DAGRecovered   = "dag.recovered"
	DAGDisabled    = "dag.disabled"
	RunFailed      = "run.failed"
	RunRecovered   = "run.recovered"
	SensorStatus   = "sensor.status"
	ReviewStaged   = "review.staged"
	ReviewBlocked  = "review.blocked"
	ReviewPRMerged = "review.pr_merged"
	MetaSummary    = "meta.summary"
)

// Types lists every event type, for filters and documentation.
var Types = []string{DAGInvalid, DAGRecovered, DAGDisabled, RunFailed, RunRecovered,
	SensorStatus, ReviewStaged, ReviewBlocked, ReviewPRMerged, MetaSummary}

// Event is one thing that happened. It is what the outbox stores and,
// with the fields of a Message, what a generic target receives.
type Event struct {
	// ID is stable for one occurrence: receivers deduplicate on it, and
	// the outbox stores it once per target.
	ID string `json:"id"`
	// Type is one of the constants above.
	Type string `json:"type"`
	// Subject is what the event is about: "dag/NAME", "runs/DAG",
	// "sensor/DAG#INDEX", "review/ID" or "meta". Events of one subject are
	// delivered in order, and grouped when they come faster than the
	// window.
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
	// Text is one line for humans.
	Text string  `json:"text"`
	Data Details `json:"data"`

	// state is, for a transition event (a DAG's status, a sensor's lag
	// status), the state it announces; its ID comes from the store's
	// generation of that state (see Service.write).
	state string
}

// Details are the facts of an event; each type fills its own.
type Details struct {
	DAG      string          `json:"dag,omitempty"`
	Location string          `json:"location,omitempty"`
	Errors   []api.ErrorLine `json:"errors,omitempty"`

	Run      int64  `json:"run,omitempty"`
	Error    string `json:"error,omitempty"`
	Failures int    `json:"failures,omitempty"` // failed runs before a recovery

	Sensor   int           `json:"sensor,omitempty"`
	Group    string        `json:"group,omitempty"`
	Status   api.LagStatus `json:"status,omitempty"`
	Previous api.LagStatus `json:"previous,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Lag      int64         `json:"lag,omitempty"`

	Review int64  `json:"review,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Title  string `json:"title,omitempty"`
	URL    string `json:"url,omitempty"`

	ModelsPerDay []api.DayCount `json:"models_per_day,omitempty"`
	Candidates   int            `json:"candidates,omitempty"`
	// NewCandidates are the models of deprecations proposed in the period.
	NewCandidates int `json:"new_candidates,omitempty"`
	StaleReports  int `json:"stale_reports,omitempty"`
}

// eventID is a stable id from what identifies one occurrence: the same
// occurrence derived again (after a restart, by another instance) gets
// the same id, so the outbox keeps it once.
func eventID(typ, subject string, occurrence any) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%v", typ, subject, occurrence))
	return hex.EncodeToString(sum[:12])
}
