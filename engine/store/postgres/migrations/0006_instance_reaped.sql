-- An instance found dead by another (its heartbeat older than the lease)
-- is marked reaped once its runs are settled, so the next reaper skips it;
-- a heartbeat clears the mark (it was only paused: its old claims stay
-- fenced).

ALTER TABLE instances ADD COLUMN reaped_at BIGINT;
