-- Resetting a sensor's offsets with --allow-reprocess (issue 15) releases
-- the batches runs carry from the new offset on: the runs keep them, but the
-- sensor no longer trims what it reads again by them, and the same offsets
-- may be stored again as a new batch. The key holds among live batches
-- only, so the inline UNIQUE becomes a partial index: the table is rebuilt
-- (as in 0008), runs.batch_id's checks waiting for the commit.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE run_batches_copy AS SELECT * FROM run_batches;

DROP TABLE run_batches;

CREATE TABLE run_batches (
    id           INTEGER PRIMARY KEY,
    dag          TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    partition    INTEGER NOT NULL,
    first_offset INTEGER NOT NULL,
    last_offset  INTEGER NOT NULL,
    messages     BLOB    NOT NULL, -- JSON lines, one message each
    released_at  INTEGER           -- Unix ns of the release; NULL while live
);

-- A re-delivered batch (a crash or a rebalance between enqueue and offset
-- commit, on any process) is recognised by its offsets and not run twice.
CREATE UNIQUE INDEX run_batches_key ON run_batches (dag, topic, partition, first_offset, last_offset)
    WHERE released_at IS NULL;

INSERT INTO run_batches (id, dag, topic, partition, first_offset, last_offset, messages)
SELECT id, dag, topic, partition, first_offset, last_offset, messages FROM run_batches_copy;

DROP TABLE run_batches_copy;
