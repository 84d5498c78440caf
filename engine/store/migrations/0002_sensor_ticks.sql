-- Kafka sensor ticks: one row per tick of one replica of a sensor, kept for
-- the console's tick list and for post-mortems. Times are Unix nanoseconds.

CREATE TABLE sensor_ticks (
    id         INTEGER PRIMARY KEY,
    dag        TEXT    NOT NULL,
    sensor     INTEGER NOT NULL,            -- index in the DAG's sensors list
    member     INTEGER NOT NULL DEFAULT 0,  -- replica that ticked
    started_at INTEGER NOT NULL,
    duration   INTEGER NOT NULL,            -- nanoseconds
    batches    INTEGER NOT NULL,
    messages   INTEGER NOT NULL,
    skipped    TEXT    NOT NULL DEFAULT '', -- why the tick stopped pulling
    error      TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX sensor_ticks_recent ON sensor_ticks (dag, sensor, id);
