-- Review items: what the metapipeline proposes (branches to push, reports to
-- archive) and what a human decided. The review package owns the shape of
-- data (JSON); the columns are what is queried. Times are Unix nanoseconds.

CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,           -- deprecate, exposures, archive
    state       TEXT    NOT NULL,           -- staged, approved, pushed, pr-open, archived, rejected, failed
    branch      TEXT    NOT NULL DEFAULT '',
    fingerprint TEXT    NOT NULL DEFAULT '', -- identifies the proposal across metapipeline runs
    data        BLOB    NOT NULL,           -- JSON: subjects, files, base, URL, error, notes
    diff        TEXT    NOT NULL DEFAULT '', -- unified diff of a branch item
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- Incremented by every update; an update based on an older version is
    -- refused, so the engine and a CLI command never both act on an item.
    version     INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX reviews_kind_state ON reviews (kind, state);

-- Append-only history of each item.
CREATE TABLE review_events (
    review_id INTEGER NOT NULL REFERENCES reviews (id),
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    state     TEXT    NOT NULL,
    note      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (review_id, seq)
) WITHOUT ROWID;
