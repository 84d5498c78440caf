-- Notifications across instances (issue 16) and the origin of DAG
-- versions (issue 17).
--
-- An instance claims a target's pending notifications before sending them
-- (claimed_by, claimed_until: a lease). A claim that outlives its holder
-- expires and another instance sends the rows: nothing stays stuck behind
-- a dead instance, and two live ones never send the same row.
ALTER TABLE notifications ADD COLUMN claimed_by    TEXT    NOT NULL DEFAULT '';
ALTER TABLE notifications ADD COLUMN claimed_until BIGINT  NOT NULL DEFAULT 0;

-- The last announced state of each subject whose events are transitions
-- (a DAG's status, a sensor's lag status). An instance announces a
-- transition only when it changes this row, so two instances seeing the
-- same change produce one event; gen numbers the changes and names the
-- event.
CREATE TABLE notification_states (
    subject TEXT    PRIMARY KEY,
    state   TEXT    NOT NULL,
    gen     BIGINT  NOT NULL
);

-- The git commit a DAG version was first loaded from: who changed the
-- file, and why. Empty for the other sources.
ALTER TABLE dag_versions ADD COLUMN origin_commit  TEXT    NOT NULL DEFAULT '';
ALTER TABLE dag_versions ADD COLUMN origin_author  TEXT    NOT NULL DEFAULT '';
ALTER TABLE dag_versions ADD COLUMN origin_subject TEXT    NOT NULL DEFAULT '';
ALTER TABLE dag_versions ADD COLUMN origin_at      BIGINT  NOT NULL DEFAULT 0;
