-- The process group of each local task attempt while it runs, so a restart
-- after a crash can stop the tasks the dead engine left behind. start_ticks
-- is the group leader's start time (Linux: /proc/<pid>/stat field 22, clock
-- ticks since boot; 0 where unknown): a recycled pid is not mistaken for it.
-- A row lives from the process's start to its end.

CREATE TABLE task_processes (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    task        TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    pgid        INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,
    PRIMARY KEY (run_id, task, attempt)
) WITHOUT ROWID;
