-- The notification outbox (issue 17): one row per event and target,
-- written before anything is sent. (target, event_id) is unique, so an
-- event derived twice — after a restart, or by two instances — is stored
-- once, and a row once sent is never sent again.

CREATE TABLE notifications (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    target     TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT '',
    sent_at    INTEGER,            -- NULL while pending
    UNIQUE (target, event_id)
);

CREATE INDEX notifications_pending ON notifications (target, seq) WHERE sent_at IS NULL;
