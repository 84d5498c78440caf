-- Several instances, one platform (issue 16): the keys that make a cron
-- fire and a Kafka batch produce one run however many engines race for it.

-- One run per (DAG, fire time): every instance's scheduler fires every
-- schedule; the first insert wins, the others learn the run's id.
CREATE UNIQUE INDEX runs_fire ON runs (dag, scheduled_for)
    WHERE trigger = 'schedule' AND scheduled_for IS NOT NULL;

-- A batch is unique per DAG, not per topic: two DAGs reading one topic each
-- run every batch (the PostgreSQL schema has had this from the start). An
-- inline UNIQUE cannot be dropped, so the table is rebuilt. runs.batch_id
-- references it: the checks wait for the commit, by when every row is back
-- under the same id.
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
    -- A re-delivered batch (a crash or a rebalance between enqueue and
    -- offset commit, on any process) is recognised by its offsets and not
    -- run twice.
    UNIQUE (dag, topic, partition, first_offset, last_offset)
);

-- A batch's DAG is its run's; a batch no run carries (none is stored
-- without one) would keep '' rather than be lost.
INSERT INTO run_batches (id, dag, topic, partition, first_offset, last_offset, messages)
SELECT c.id, coalesce((SELECT r.dag FROM runs r WHERE r.batch_id = c.id ORDER BY r.id LIMIT 1), ''),
       c.topic, c.partition, c.first_offset, c.last_offset, c.messages
FROM run_batches_copy c;

DROP TABLE run_batches_copy;
