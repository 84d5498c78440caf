-- Several instances on one database: each process registers itself and
-- heartbeats; a run is claimed by one instance, which it records, with a
-- claim number that fences the writes of an instance that lost the run
-- (paused past its lease while another took over).

CREATE TABLE instances (
    id             TEXT    PRIMARY KEY,
    host           TEXT    NOT NULL,
    pid            INTEGER NOT NULL,
    started_at     BIGINT  NOT NULL,
    last_heartbeat BIGINT  NOT NULL,
    stopped_at     BIGINT              -- NULL while it runs
);

ALTER TABLE runs ADD COLUMN instance TEXT   NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN claim    BIGINT NOT NULL DEFAULT 0;

-- The claim order: highest priority first, then oldest.
CREATE INDEX runs_claim_order ON runs (priority DESC, id) WHERE state = 'queued';
CREATE INDEX runs_running_by_instance ON runs (instance) WHERE state = 'running';
