-- Instances and claims (see the PostgreSQL schema of this version): the
-- runner claims runs through the store on SQLite too, one process at a
-- time, so one code path serves both. A claim records its instance and a
-- token that fences the claimed run's later writes.

CREATE TABLE instances (
    id             TEXT    PRIMARY KEY,
    host           TEXT    NOT NULL,
    pid            INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL,
    stopped_at     INTEGER,            -- NULL while it runs
    reaped_at      INTEGER             -- NULL unless found dead
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN instance TEXT    NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN claim    INTEGER NOT NULL DEFAULT 0;

CREATE INDEX runs_claim_order ON runs (priority DESC, id) WHERE state = 'queued';
CREATE INDEX runs_running ON runs (dag) WHERE state = 'running';
