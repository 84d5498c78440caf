-- Operator control (issue 15): the audit log of operator actions, paused
-- DAGs, and the link of a re-run to the run it re-runs.

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    outcome TEXT    NOT NULL,
    reason  TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE dag_pauses (
    dag       TEXT PRIMARY KEY,
    paused_by TEXT    NOT NULL,
    paused_at INTEGER NOT NULL,
    reason    TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN rerun_of INTEGER REFERENCES runs (id);
-- JSON object task -> run id: tasks a clear-from-failed run does not run
-- because they succeeded in that run.
ALTER TABLE runs ADD COLUMN skip_tasks TEXT;
