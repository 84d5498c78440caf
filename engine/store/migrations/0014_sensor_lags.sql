-- Each Kafka sensor's latest consumer-lag reading, as the engine running it
-- saw it (issue 17): `sluice status` in another process shows the lag and
-- the Burrow status only a running engine computes, with the reading's age.
-- One row per sensor, rewritten when the reading changes (and now and then
-- while it does not, so its age tells a live engine from a dead one); a
-- reading never replaces a later one (at, Unix ns).
CREATE TABLE sensor_lags (
    dag        TEXT    NOT NULL,
    sensor     INTEGER NOT NULL,
    status     TEXT    NOT NULL, -- running, paused, backpressure, error
    lag_status TEXT    NOT NULL, -- OK, WARN, ERR; '' before the first reading
    total_lag  INTEGER NOT NULL, -- -1 before the first reading
    reason     TEXT    NOT NULL,
    error      TEXT    NOT NULL,
    instance   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (dag, sensor)
) WITHOUT ROWID;
