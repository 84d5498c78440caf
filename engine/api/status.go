package api

import "time"

// Status is the engine's health in one value, as `sluice status` prints
// it: what a monitoring script checks. Problems lists why it is unhealthy;
// none means healthy.
type Status struct {
	At       time.Time `json:"at"`
	Version  string    `json:"version"`
	StateDir string    `json:"state_dir"`
	// Engine says whether an engine runs on the state dir. An offline
	// status scans the sources itself and reads the store, where a running
	// engine records what only it knows (the sensors' consumer lag).
	Engine        StatusEngine         `json:"engine"`
	Sources       []StatusSource       `json:"sources"`
	DAGs          map[DAGStatus]int    `json:"dags"`
	Queue         StatusQueue          `json:"queue"`
	Sensors       []StatusSensor       `json:"sensors"`
	Notifications *StatusNotifications `json:"notifications"`
	Store         StatusStore          `json:"store"`
	Problems      []string             `json:"problems"`
}

// Healthy reports whether nothing is wrong.
func (s Status) Healthy() bool { return len(s.Problems) == 0 }

// StatusEngine is the engine process on the state dir.
type StatusEngine struct {
	Running bool `json:"running"`
	PID     int  `json:"pid,omitempty"`
	// Offline: this status was taken beside the engine, not by it.
	Offline bool `json:"offline"`
	// Instances counts the live instances sharing a PostgreSQL store
	// (heartbeat within the lease); 0 on SQLite.
	Instances int `json:"instances,omitempty"`
}

// StatusSource is one DAG source's health.
type StatusSource struct {
	Kind       string    `json:"kind"` // "local", "s3", "git"
	Location   string    `json:"location"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	LastScan   time.Time `json:"last_scan"`
	DurationMS int64     `json:"duration_ms"`
	Files      int       `json:"files"` // files, S3 objects, files at the commit
	Commit     *Commit   `json:"commit,omitempty"`
}

// StatusQueue is the run queue and its limits.
type StatusQueue struct {
	Queued            int            `json:"queued"`
	Running           int            `json:"running"`
	MaxConcurrentRuns int            `json:"max_concurrent_runs"`
	TagLimits         map[string]int `json:"tag_limits,omitempty"` // "key=value": limit
}

// StatusSensor is one Kafka sensor.
type StatusSensor struct {
	DAG    string   `json:"dag"`
	Index  int      `json:"index"`
	Topics []string `json:"topics"`
	// Status is the sensor's (running, paused, backpressure, error) as
	// the engine running it last recorded it; without a current reading,
	// "error" when the last tick failed, else "".
	Status SensorStatus `json:"status,omitempty"`
	// LagStatus is the group's Burrow status (OK, WARN, ERR: a partition
	// STALL or STOP makes the group ERR) and LagReason the rule that
	// decided it, as the running engine's lag monitor last judged them.
	LagStatus LagStatus `json:"lag_status,omitempty"`
	LagReason string    `json:"lag_reason,omitempty"`
	// Lag is the group's total lag; -1 when unknown (no engine recorded a
	// reading yet).
	Lag int64 `json:"lag"`
	// LagAt is when the reading was taken.
	LagAt time.Time `json:"lag_at,omitzero"`
	// LagStale: the reading is the last one an engine recorded, not the
	// current one — it is older than the bound (2 minutes), or no engine
	// runs.
	LagStale bool      `json:"lag_stale,omitempty"`
	LastTick time.Time `json:"last_tick,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// StatusNotifications is the notification targets' delivery health.
// Available is false in a build without notifications.
type StatusNotifications struct {
	Available bool                 `json:"available"`
	Targets   []StatusNotifyTarget `json:"targets"`
}

// StatusNotifyTarget is one notification target: a configured one, or one
// the store's outbox still holds messages for.
type StatusNotifyTarget struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"` // slack or generic; empty when not configured
	// URL is the target's URL redacted: scheme and host only (a webhook
	// URL's path is its secret).
	URL string `json:"url,omitempty"`
	// Configured is false for a target only the outbox knows (removed
	// from the configuration with messages left).
	Configured   bool      `json:"configured"`
	LastDelivery time.Time `json:"last_delivery,omitzero"`
	// Pending counts the messages waiting (queued, or being retried).
	Pending int `json:"pending"`
	// Failures counts failed attempts: of the running engine since its
	// last delivery, or (read from the store) of the oldest pending
	// message. Failing: they reached the configured threshold.
	Failures int    `json:"failures"`
	Failing  bool   `json:"failing"`
	Error    string `json:"error,omitempty"`
}

// StatusStore is the database.
type StatusStore struct {
	Kind      string `json:"kind"`     // "sqlite" or "postgres"
	Location  string `json:"location"` // the file, or the URL redacted
	SizeBytes int64  `json:"size_bytes"`
	// Exists is false when nothing ever ran in the state dir.
	Exists bool   `json:"exists"`
	Error  string `json:"error,omitempty"`
}
