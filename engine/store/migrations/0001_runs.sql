-- Runs, their task attempts, the Kafka batches sensor runs carry, and the
-- schedules' last fire times. Times are Unix nanoseconds (UTC); NULL when
-- not reached yet.

CREATE TABLE run_batches (
    id           INTEGER PRIMARY KEY,
    topic        TEXT    NOT NULL,
    partition    INTEGER NOT NULL,
    first_offset INTEGER NOT NULL,
    last_offset  INTEGER NOT NULL,
    messages     BLOB    NOT NULL, -- JSON lines, one message each
    -- A re-delivered batch (crash between enqueue and offset commit) is
    -- recognised by its offsets and not run twice.
    UNIQUE (topic, partition, first_offset, last_offset)
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    dag           TEXT    NOT NULL,
    state         TEXT    NOT NULL,  -- queued, running, success, failed, cancelled
    trigger       TEXT    NOT NULL,  -- manual, schedule, sensor, recovery
    priority      INTEGER NOT NULL DEFAULT 0,
    config        BLOB,              -- run config JSON; NULL when none
    queued_at     INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    error         TEXT    NOT NULL DEFAULT '',
    batch_id      INTEGER REFERENCES run_batches (id),
    retry_of      INTEGER REFERENCES runs (id), -- the interrupted run this one re-runs
    scheduled_for INTEGER,           -- the cron fire time of a scheduled run
    -- 0 for runs another process (sluice trigger) inserted that no engine
    -- has taken into its queue yet; engines poll for them.
    adopted       INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX runs_active ON runs (dag, state) WHERE state IN ('queued', 'running');
CREATE INDEX runs_unadopted ON runs (id) WHERE adopted = 0;
CREATE INDEX runs_batch ON runs (batch_id) WHERE batch_id IS NOT NULL;

-- One row per attempt of a task. Tasks that never started but were settled
-- (upstream_failed, skipped, cancelled) have a row with attempt 0.
CREATE TABLE task_attempts (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    task        TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    error       TEXT    NOT NULL DEFAULT '',
    log_tail    TEXT    NOT NULL DEFAULT '',
    log_file    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, task, attempt)
) WITHOUT ROWID;

CREATE TABLE schedules (
    dag       TEXT PRIMARY KEY,
    last_fire INTEGER NOT NULL
) WITHOUT ROWID;
