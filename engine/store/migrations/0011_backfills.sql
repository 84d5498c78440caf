-- Backfills (issue 15): one run per fire time of a DAG's schedule in a
-- range, watched and cancelled as one object. The fire times are kept in
-- order; the first `fed` of them have runs, the rest wait for room under
-- max_active.

CREATE TABLE backfills (
    id         INTEGER PRIMARY KEY,
    dag        TEXT    NOT NULL,
    from_time  INTEGER NOT NULL,
    to_time    INTEGER NOT NULL,
    reprocess  TEXT    NOT NULL,
    max_active INTEGER NOT NULL DEFAULT 0,
    dag_version INTEGER NOT NULL DEFAULT 0,     -- the version its runs run
    state      TEXT    NOT NULL,             -- running, cancelled (done is derived)
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    fed        INTEGER NOT NULL DEFAULT 0,
    fires      TEXT    NOT NULL              -- JSON array of Unix nanoseconds
);

ALTER TABLE runs ADD COLUMN backfill_id INTEGER REFERENCES backfills (id);

CREATE INDEX runs_backfill ON runs (backfill_id, state) WHERE backfill_id IS NOT NULL;
CREATE INDEX runs_scheduled ON runs (dag, scheduled_for) WHERE scheduled_for IS NOT NULL;
