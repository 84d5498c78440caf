package api

// The read model: immutable values the engine hands to the console, the CLI
// and the SSH sessions. The parts of the engine produce these values, the
// views render them, nobody mutates them after publication.

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Snapshot is everything the console shows, as of At.
type Snapshot struct {
	At      time.Time
	DAGs    []DAG    // sorted by Name
	Sources []Source // in configuration order
	Runs    Runs
	Sensors []Sensor
	Reviews []Review
	Meta    *MetaReport // nil until the metapipeline has run
	// MetaEnabled: a dbt manifest is configured, so the metapipeline (the
	// built-in DAG MetaDAG) can run.
	MetaEnabled bool
	Logs        []LogRecord // oldest first, bounded
	// Instances counts the live instances sharing the store (this one
	// included; 1 on SQLite), as of the last heartbeat.
	Instances int
	// Store says whether the store accepts writes (the zero value: yes).
	Store StoreHealth
	// Notify is each notification target's delivery state, in
	// configuration order; nil without targets.
	Notify []NotifyTarget `json:",omitempty"`
}

// NotifyTarget is one notification target's delivery state.
type NotifyTarget struct {
	Name string // KIND:HOST or the configured name; never the URL
	Kind string // slack or generic
	// Pending counts the messages waiting (queued, or being retried).
	Pending      int
	LastDelivery time.Time // zero: nothing delivered yet
	// Failures counts the failed attempts since the last delivery;
	// Failing is set once they reach the configured threshold.
	Failures  int
	Failing   bool
	LastError string
}

// DAG is one entry of the registry of loaded DAGs.
type DAG struct {
	Name     string
	Source   string // source name: "local", "s3" or "git"
	Location string // file path, s3://bucket/key or URL#ref:path
	Status   DAGStatus
	// Def is the active definition (the last good one when Status is
	// invalid); nil when no version of the file ever validated.
	Def      *DAGDef
	Checksum string // hex SHA-256 of the active version
	LoadedAt time.Time
	// Errors of the newest version of the file, when it failed.
	Errors []ErrorLine
	// ConflictWith names the location that holds the name, for conflicts.
	ConflictWith string
	NextFire     time.Time // zero when unscheduled
	// Paused is set while an operator has paused the DAG: its schedules
	// and sensors do not fire.
	Paused *DAGPause
	// Origin is, for a DAG from a git source, the commit its active
	// version was loaded from; nil for other sources.
	Origin *Commit
	// Version is the stored version of the file's active content (0 until
	// recorded, or without a store).
	Version int
	// Pinned is set while the engine runs a pinned version (Def is that
	// version's) rather than the file's.
	Pinned *DAGPin
}

// ErrorLine is one validation problem, ready to render.
type ErrorLine struct {
	Node string `json:"node,omitempty"`
	Path string `json:"path,omitempty"`
	Msg  string `json:"message"`
}

// Source is the health of one DAG source.
type Source struct {
	Name         string // "local", "s3" or "git"
	Location     string // folder, s3://bucket/prefix or URL#ref:path
	OK           bool
	Error        string // last scan error; empty when OK
	LastScan     time.Time
	ScanDuration time.Duration
	Files        int
	// Commit is, for a git source, the commit whose DAGs are loaded (the
	// last good one when the latest fetch failed); nil for other sources.
	Commit *Commit
}

// Commit is a git commit as the read model shows it. Author and Subject
// come from outside: the source strips control characters from them.
type Commit struct {
	Hash    string    `json:"hash"` // full hex SHA-1
	Short   string    `json:"short"`
	Author  string    `json:"author"`
	Subject string    `json:"subject"` // first line of the message
	When    time.Time `json:"when"`
}

// String is "abc1234 Subject (Author)", the commit on one line.
func (c *Commit) String() string {
	if c == nil {
		return ""
	}
	return c.Short + " " + c.Subject + " (" + c.Author + ")"
}

// Runs is the run queue as the console shows it.
type Runs struct {
	Queued   []Run // in the order they will start
	Running  []Run
	Finished []Run // newest first, bounded
	// FinishedTotal counts every finished run the store holds, of which
	// Finished is the latest few.
	FinishedTotal int
}

// Run is one run of a DAG.
type Run struct {
	ID         int64
	DAG        string
	State      RunState
	Trigger    string // "manual", "schedule", "sensor", "recovery"
	Priority   int
	Config     json.RawMessage
	QueuedAt   time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	WaitReason string // why a queued run waits
	Error      string
	Batch      string // "topic/partition/first-last" for sensor runs
	RerunOf    int64  // the run this one re-runs (R, C), 0 for none
	DAGVersion int    // the version of the DAG it runs, 0 when unknown
	Tasks      []Task // in topological order
	Done       int    // tasks finished
	Total      int
}

// Task is one task of a run.
type Task struct {
	ID         string
	State      TaskState
	Attempt    int
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
	LogTail    string
	LogFile    string
}

// Sensor is one Kafka sensor of a DAG, with its recent ticks and lag.
type Sensor struct {
	DAG    string
	Index  int // position in the DAG's sensors list
	Topics []string
	Group  string
	Status SensorStatus
	Paused bool
	// PausedBy names who paused it (the session's user), "" when unknown.
	PausedBy string
	Error    string
	Ticks    []Tick // newest first, bounded
	Lag      GroupLag
	History  []int64 // total lag samples, oldest first, for sparklines
}

// Tick is one sensor tick.
type Tick struct {
	ID       int64
	Start    time.Time
	Duration time.Duration
	Batches  int
	Messages int
	Skipped  string // reason the tick did not pull, e.g. backpressure
	Error    string
	// Ranges are the batches the tick persisted, each a run.
	Ranges []TickRange `json:",omitempty"`
}

// TickRange is one batch a tick persisted: a partition's offsets first to
// last (inclusive), and the run that carries them.
type TickRange struct {
	Topic       string
	Partition   int32
	First, Last int64
	Run         int64
}

// GroupLag is a consumer group's lag as the lag monitor last saw it.
type GroupLag struct {
	Group   string
	State   string // group state from the broker
	Members int
	Status  LagStatus // OK, WARN or ERR
	// Reason is the Burrow rule that decided Status, with its numbers.
	Reason     string
	TotalLag   int64
	Partitions []PartitionLag
	At         time.Time
}

// PartitionLag is one partition's offsets and status.
type PartitionLag struct {
	Topic     string
	Partition int32
	LogEnd    int64
	Committed int64 // -1 when the group never committed
	Lag       int64
	Rate      float64 // messages/s consumed (committed offsets' advance) over the window
	// ProduceRate is the log end's advance per second over the window:
	// what producers write, against Rate, what the group consumes.
	ProduceRate float64
	Status      LagStatus
	Reason      string // the Burrow rule that decided Status
}

// Review is one proposal of the metapipeline awaiting a human.
type Review struct {
	ID        int64
	Kind      string // deprecate, exposures, archive
	State     ReviewState
	Branch    string
	Base      string
	Title     string
	Files     []string
	Diff      string
	Subjects  []ReviewSubject // models or reports, with reasons
	CreatedAt time.Time
	UpdatedAt time.Time
	URL       string // pull request URL once opened
	// Checks is the pull request's checks state as last followed:
	// success, failure, pending, or "" (none, or no pull request).
	Checks string `json:",omitempty"`
	Error  string
	// GitHubAPI is the GitHub endpoint the item remembers from staging;
	// approving uses the current configuration's, whatever this says.
	GitHubAPI string `json:",omitempty"`
	// RejectReason is what the person who rejected the item said, if
	// anything.
	RejectReason string `json:",omitempty"`
	// History is every state the item passed through, oldest first.
	History []ReviewEvent
	// Follows is the first-phase item (a merged deprecation, an archive)
	// a second-phase deletion follows; 0 for others.
	Follows int64 `json:",omitempty"`
}

// ReviewEvent is one entry of a review item's history.
type ReviewEvent struct {
	At    time.Time
	State ReviewState
	Note  string
}

// ReviewSubject is a model or report a review item touches.
type ReviewSubject struct {
	ID         string
	Name       string
	Reason     string
	Importance float64
	// Evidence backs a deprecation candidate; nil for other subjects.
	Evidence *ReviewEvidence `json:",omitempty"`
	// Excluded says a reviewer took the model out of the branch: "kept:
	// REASON" (for good) or "left out this time"; "" while it is in.
	Excluded string `json:",omitempty"`
}

// ReviewEvidence is why a model is proposed for deprecation, as the pane
// and the pull request show it.
type ReviewEvidence struct {
	// Unreached names the consumers the model reaches none of ("3
	// exposures, 12 semantic objects, 41 live BI queries").
	Unreached string `json:",omitempty"`
	// The model's last execution in the dbt run history (zero: never ran
	// in the history read).
	LastRunAt   time.Time     `json:",omitzero"`
	LastRuntime time.Duration `json:",omitempty"`
	LastStatus  string        `json:",omitempty"`
	Runs        int           `json:",omitempty"`
	// Centrality measures and importance in the dbt graph.
	Centrality Centrality
	// BIQueries are the BI queries that read it, all of stale or archived
	// reports ("Weekly KPIs / orders by day (9f3a/01b2)").
	BIQueries []string `json:",omitempty"`
}

// MetaDAG is the name of the metapipeline's built-in DAG: its runs are the
// metapipeline's progress.
const MetaDAG = "metapipeline"

// MetaReport is the latest metapipeline analysis, for the review pane.
type MetaReport struct {
	At           time.Time
	Centrality   []Centrality // by importance, best first
	ModelsPerDay []DayCount   // oldest first
	Candidates   int
	StaleReports int
	// Notice says why no clean-up is proposed (no consumer known).
	Notice string `json:",omitempty"`
}

// Centrality of one model.
type Centrality struct {
	ID                                           string
	Degree, InDegree, OutDegree                  float64
	Closeness, Betweenness, PageRank, Importance float64
}

// DayCount is the number of distinct models run on a day.
type DayCount struct {
	Day   string // YYYY-MM-DD
	Count int
}

// LogRecord is one engine log record for the logs pane.
type LogRecord struct {
	Time  time.Time
	Level slog.Level
	Msg   string
	Attrs string // "key=value key=value", secrets already redacted
}

// ScanResult sums up one forced scan of every source.
type ScanResult struct {
	Sources  int
	Duration time.Duration
	Changed  int // files added, changed or removed
	// ChangedDAGs names the DAGs whose files changed, sorted, each once.
	ChangedDAGs []string
	Invalid     int // files that failed to parse or validate
	Failed      int // sources whose scan failed
}
