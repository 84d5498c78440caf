-- The process group of each local task attempt while it runs.

CREATE TABLE task_processes (
    run_id      BIGINT  NOT NULL REFERENCES runs (id),
    task        TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    pgid        INTEGER NOT NULL,
    start_ticks BIGINT  NOT NULL,
    PRIMARY KEY (run_id, task, attempt)
);
