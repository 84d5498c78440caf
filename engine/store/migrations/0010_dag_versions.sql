-- DAG versions (issue 15): every distinct content of a DAG's file that
-- loaded, numbered per DAG; the pins that make the engine run one of them;
-- the version each run ran.

CREATE TABLE dag_versions (
    dag        TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    source     TEXT    NOT NULL DEFAULT '',
    content    BLOB    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (dag, version),
    UNIQUE (dag, sha256)
);

CREATE TABLE dag_pins (
    dag       TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL,
    pinned_by TEXT    NOT NULL,
    pinned_at INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE runs ADD COLUMN dag_version INTEGER;
